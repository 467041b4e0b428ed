import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatError, parseDocuments, parseTrainingJob } from '@kiln/spec';
import { exampleJob, exampleYaml } from './fixtures.js';

describe('parseTrainingJob', () => {
  it('reads the ARCHITECTURE.md example from YAML', () => {
    const result = parseTrainingJob(exampleYaml, 'mnist-ddp.yaml');
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.equal(result.value.length, 1);
    assert.equal(result.value[0]?.metadata.name, 'mnist-ddp');
    assert.equal(result.value[0]?.spec.runPolicy.cleanPodPolicy, 'Running');
  });

  it('reads JSON', () => {
    const result = parseTrainingJob(JSON.stringify(exampleJob(), null, 2), 'job.json');
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.equal(result.value[0]?.spec.workers, 4);
  });

  it('reads every document of a multi-document stream, skipping empty ones', () => {
    const second = exampleYaml.replace('name: mnist-ddp', 'name: mnist-ddp-2');
    const text = `---\n${exampleYaml}\n---\n# nothing here\n---\n${second}\n---\n`;
    const result = parseTrainingJob(text);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(
      result.value.map((j) => j.metadata.name),
      ['mnist-ddp', 'mnist-ddp-2'],
    );
  });

  it('gives line and column of invalid YAML', () => {
    const unclosed = [
      'apiVersion: kiln.dev/v1alpha1',
      'kind: TrainingJob',
      'spec:',
      '  image: a',
      '  command: [b, c',
      'x: 1',
    ];
    const result = parseTrainingJob(unclosed.join('\n'), 'bad.yaml');
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.map((e) => [e.code, e.file, e.line, e.column]),
      [['parse', 'bad.yaml', 6, 1]],
    );
    assert.match(
      formatError(result.errors[0]!),
      /^bad\.yaml:6:1: invalid YAML: Flow sequence .* must .* end with a \]$/,
    );
  });

  it('gives line and column of a repeated key', () => {
    const text = [
      'apiVersion: kiln.dev/v1alpha1',
      'kind: TrainingJob',
      'spec:',
      '  image: a',
      '  image: b',
    ].join('\n');
    const result = parseTrainingJob(text, 'dup.yaml');
    assert.ok(!result.ok);
    assert.equal(formatError(result.errors[0]!), 'dup.yaml:5:3: invalid YAML: Map keys must be unique');
  });

  it('gives line and column of invalid JSON', () => {
    const text = '{\n  "apiVersion": "kiln.dev/v1alpha1",\n  "kind": "TrainingJob"\n  "spec": {}\n}';
    const result = parseTrainingJob(text, 'bad.json');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.errors.map((e) => [e.line, e.column, e.message]),
      [[4, 3, 'invalid JSON: comma expected']],
    );
  });

  it('gives line and column of a trailing comma in JSON', () => {
    const result = parseTrainingJob('{"a": [1, 2,]}', 'x.json');
    assert.ok(!result.ok);
    assert.deepEqual([result.errors[0]?.line, result.errors[0]?.column], [1, 13]);
  });

  it('rejects duplicate keys, which JSON.parse would silently resolve', () => {
    const result = parseTrainingJob('{"kind": "TrainingJob", "kind": "Pod"}', 'dup.json');
    assert.ok(!result.ok);
    assert.equal(result.errors[0]?.code, 'parse');
    assert.equal(result.errors[0]?.line, 1);
  });

  it('puts validation errors where the field is written', () => {
    const text = exampleYaml
      .replace('workers: 4', 'workers: 0')
      .replace('cleanPodPolicy: Running', 'cleanPodPolicy: Often');
    const result = parseTrainingJob(text, 'job.yaml');
    assert.ok(!result.ok);
    const lines = text.split('\n');
    const lineOf = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path, e]));
    assert.equal(byPath['spec.workers']?.line, lineOf('workers: 0'));
    assert.equal(byPath['spec.workers']?.column, 3);
    assert.equal(byPath['spec.runPolicy.cleanPodPolicy']?.line, lineOf('cleanPodPolicy: Often'));
    assert.equal(
      formatError(byPath['spec.runPolicy.cleanPodPolicy']!),
      `job.yaml:${lineOf('cleanPodPolicy: Often')}:5: spec.runPolicy.cleanPodPolicy: must be one of None, Running, All (got "Often")`,
    );
  });

  it('locates keys with dots and list items', () => {
    const text = exampleYaml
      .replace('nvidia.com/gpu: 1', 'nvidia.com/gpu: lots')
      .replace('env: []', 'env:\n    - {name: A, value: "1"}\n    - {name: 9}');
    const result = parseTrainingJob(text, 'job.yaml');
    assert.ok(!result.ok);
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path, e]));
    const lines = text.split('\n');
    assert.equal(
      byPath['spec.resources.limits["nvidia.com/gpu"]']?.line,
      lines.findIndex((l) => l.includes('lots')) + 1,
    );
    assert.equal(byPath['spec.env[1].name']?.line, lines.findIndex((l) => l.includes('name: 9')) + 1);
  });

  it('names the document of each error in a stream', () => {
    const bad = exampleYaml.replace('image: registry.example/kiln-trainer:0.1', 'image: ""');
    const result = parseTrainingJob(`${exampleYaml}\n---\n${bad}`, 'jobs.yaml');
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.map((e) => [e.document, e.path]),
      [[1, 'spec.image']],
    );
    assert.match(formatError(result.errors[0]!), /^jobs\.yaml:\d+:\d+: document 2: spec\.image: /);
  });

  it('reports a missing field at its parent object', () => {
    const text = exampleYaml.replace('  image: registry.example/kiln-trainer:0.1\n', '');
    const result = parseTrainingJob(text, 'job.yaml');
    assert.ok(!result.ok);
    assert.equal(result.errors[0]?.path, 'spec.image');
    assert.equal(result.errors[0]?.line, text.split('\n').indexOf('spec:') + 1);
  });

  it('rejects empty input', () => {
    for (const text of ['', '---\n', '# only a comment\n']) {
      const result = parseTrainingJob(text, 'empty.yaml');
      assert.ok(!result.ok, text);
      assert.equal(result.errors[0]?.message, 'contains no document');
    }
  });

  it('refuses alias bombs', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `${'b'.repeat(i)}: &${'a'.repeat(i + 1)} [${Array(10)
          .fill(`*${'a'.repeat(i)}`)
          .join(', ')}]`,
      );
    const result = parseDocuments(lines.join('\n'));
    assert.equal(result.ok, false);
  });
});
