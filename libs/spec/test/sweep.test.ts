import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSweep, validateSweep } from '@kiln/spec';
import type { Loose } from './fixtures.js';

function sweep(): Loose {
  return {
    apiVersion: 'kiln.dev/v1alpha1',
    kind: 'Sweep',
    metadata: { name: 'mnist-lr', namespace: 'team-a' },
    spec: {
      objective: { metric: 'val/loss', goal: 'minimize' },
      algorithm: { type: 'asha', seed: 7, maxResource: 27 },
      parameters: {
        lr: { type: 'loguniform', min: 1e-5, max: 1e-1 },
        dropout: { type: 'uniform', min: 0, max: 0.5 },
        layers: { type: 'int', min: 1, max: 4 },
        optimizer: { type: 'choice', values: ['adam', 'sgd'] },
      },
      maxTrials: 64,
      parallelism: 8,
      trialTemplate: {
        image: 'kiln-trainer:0.1',
        command: ['kiln', 'fit', 'examples/mnist/train.ts'],
        workers: 2,
      },
    },
  };
}

describe('validateSweep', () => {
  it('accepts a sweep and fills in defaults of the algorithm and the trial template', () => {
    const result = validateSweep(sweep());
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.value.spec.algorithm, {
      type: 'asha',
      seed: 7,
      maxResource: 27,
      resource: 'epoch',
      minResource: 1,
      reductionFactor: 3,
    });
    assert.equal(result.value.spec.trialTemplate.runPolicy.cleanPodPolicy, 'Running');
    assert.equal(result.value.spec.trialTemplate.procsPerWorker, 1);
  });

  it('accepts each search algorithm', () => {
    for (const algorithm of [
      { type: 'grid' },
      { type: 'random' },
      { type: 'tpe', startupTrials: 5 },
      { type: 'hyperband', maxResource: 81, reductionFactor: 3 },
      { type: 'median-stop', startupTrials: 3 },
      { type: 'asha', maxResource: 9, sampler: 'tpe' },
      { type: 'hyperband', maxResource: 27, sampler: 'random' },
      { type: 'median-stop', sampler: 'tpe' },
    ]) {
      const s = sweep();
      s.spec.algorithm = algorithm;
      if (algorithm.type === 'grid') s.spec.parameters = { layers: { type: 'int', min: 1, max: 3 } };
      const result = validateSweep(s);
      assert.ok(result.ok, `${algorithm.type}: ${JSON.stringify(!result.ok && result.errors)}`);
    }
  });

  const bad: [string, (s: Loose) => void, string, RegExp?][] = [
    [
      'unknown algorithm',
      (s) => {
        s.spec.algorithm = { type: 'bayes' };
      },
      'spec.algorithm.type',
      /one of grid, random, tpe, asha, hyperband, median-stop/,
    ],
    [
      'algorithm without type',
      (s) => {
        s.spec.algorithm = { seed: 1 };
      },
      'spec.algorithm.type',
      /is required/,
    ],
    [
      'asha without maxResource',
      (s) => {
        delete s.spec.algorithm.maxResource;
      },
      'spec.algorithm.maxResource',
      /is required/,
    ],
    [
      'asha reductionFactor 1',
      (s) => {
        s.spec.algorithm.reductionFactor = 1;
      },
      'spec.algorithm.reductionFactor',
      /from 2 to 100/,
    ],
    [
      'asha minResource above maxResource',
      (s) => {
        s.spec.algorithm.minResource = 30;
      },
      'spec.algorithm.minResource',
      /≤ algorithm.maxResource/,
    ],
    [
      'option of another algorithm',
      (s) => {
        s.spec.algorithm.startupTrials = 3;
      },
      'spec.algorithm.startupTrials',
      /not a known field/,
    ],
    [
      'goal misspelled',
      (s) => {
        s.spec.objective.goal = 'min';
      },
      'spec.objective.goal',
      /minimize, maximize/,
    ],
    [
      'no metric',
      (s) => {
        delete s.spec.objective.metric;
      },
      'spec.objective.metric',
      /is required/,
    ],
    [
      'unknown parameter type',
      (s) => {
        s.spec.parameters.lr.type = 'normal';
      },
      'spec.parameters.lr.type',
      /uniform, loguniform, int, choice/,
    ],
    [
      'loguniform from zero',
      (s) => {
        s.spec.parameters.lr.min = 0;
      },
      'spec.parameters.lr.min',
      /> 0/,
    ],
    [
      'uniform bounds reversed',
      (s) => {
        s.spec.parameters.dropout = { type: 'uniform', min: 0.5, max: 0.1 };
      },
      'spec.parameters.dropout.min',
      /< max/,
    ],
    [
      'int with a fraction',
      (s) => {
        s.spec.parameters.layers.max = 4.5;
      },
      'spec.parameters.layers.max',
      /integer/,
    ],
    [
      'empty choice',
      (s) => {
        s.spec.parameters.optimizer.values = [];
      },
      'spec.parameters.optimizer.values',
      /1 to 1000 items \(got 0\)/,
    ],
    [
      'choice repeats a value',
      (s) => {
        s.spec.parameters.optimizer.values = ['adam', 'adam'];
      },
      'spec.parameters.optimizer.values',
      /same value twice/,
    ],
    [
      'parameter name with a space',
      (s) => {
        s.spec.parameters['learning rate'] = s.spec.parameters.lr;
        delete s.spec.parameters.lr;
      },
      'spec.parameters["learning rate"]',
      /identifiers/,
    ],
    [
      'no parameters',
      (s) => {
        s.spec.parameters = {};
      },
      'spec.parameters',
      /./,
    ],
    [
      'grid over a continuous range',
      (s) => {
        s.spec.algorithm = { type: 'grid' };
        delete s.spec.parameters.lr;
        delete s.spec.parameters.layers;
        delete s.spec.parameters.optimizer;
      },
      'spec.parameters.dropout.type',
      /grid search needs int or choice/,
    ],
    [
      'random without maxTrials',
      (s) => {
        s.spec.algorithm = { type: 'random' };
        delete s.spec.maxTrials;
      },
      'spec.maxTrials',
      /is required for random/,
    ],
    [
      'zero parallelism',
      (s) => {
        s.spec.parallelism = 0;
      },
      'spec.parallelism',
      /≥ 1|from 1/,
    ],
    [
      'trial template without image',
      (s) => {
        delete s.spec.trialTemplate.image;
      },
      'spec.trialTemplate.image',
      /is required/,
    ],
    [
      'trial template breaks a cross-field rule',
      (s) => {
        s.spec.trialTemplate.elastic = { minWorkers: 4, maxWorkers: 2 };
      },
      'spec.trialTemplate.elastic.minWorkers',
      /≤ elastic.maxWorkers/,
    ],
    [
      'unknown sampler for asha',
      (s) => {
        s.spec.algorithm.sampler = 'bayes';
      },
      'spec.algorithm.sampler',
      /random, tpe/,
    ],
    [
      'int log from zero',
      (s) => {
        s.spec.parameters.layers = { type: 'int', min: 0, max: 8, log: true };
      },
      'spec.parameters.layers.min',
      /≥ 1 with log: true/,
    ],
    [
      'int log with a step',
      (s) => {
        s.spec.parameters.layers = { type: 'int', min: 1, max: 8, step: 2, log: true };
      },
      'spec.parameters.layers.step',
      /must be 1 with log: true/,
    ],
    [
      'condition on an unknown parameter',
      (s) => {
        s.spec.parameters.dropout.when = { optimiser: ['sgd'] };
      },
      'spec.parameters.dropout.when.optimiser',
      /names no parameter \(expected one of lr, dropout, layers, optimizer\)/,
    ],
    [
      'condition on itself',
      (s) => {
        s.spec.parameters.optimizer.when = { optimizer: ['sgd'] };
      },
      'spec.parameters.optimizer.when.optimizer',
      /cannot be conditional on itself/,
    ],
    [
      'condition on a continuous parameter',
      (s) => {
        s.spec.parameters.dropout.when = { lr: [0.01] };
      },
      'spec.parameters.dropout.when.lr',
      /must name an int or choice parameter, got loguniform/,
    ],
    [
      'condition on a value the choice does not offer',
      (s) => {
        s.spec.parameters.dropout.when = { optimizer: ['sgd', 'adagrad'] };
      },
      'spec.parameters.dropout.when.optimizer[1]',
      /"adagrad" is not a value parameter optimizer can take/,
    ],
    [
      'condition on an int value off its range',
      (s) => {
        s.spec.parameters.dropout.when = { layers: [2, 9] };
      },
      'spec.parameters.dropout.when.layers[1]',
      /9 is not a value parameter layers can take/,
    ],
    [
      'condition with no values',
      (s) => {
        s.spec.parameters.dropout.when = { optimizer: [] };
      },
      'spec.parameters.dropout.when.optimizer',
      /1 to 1000 items/,
    ],
    [
      'conditions in a cycle',
      (s) => {
        s.spec.parameters.optimizer.when = { layers: [1] };
        s.spec.parameters.layers.when = { optimizer: ['adam'] };
      },
      'spec.parameters.layers.when',
      /conditions form a cycle: layers → optimizer → layers/,
    ],
    [
      'condition not an object',
      (s) => {
        s.spec.parameters.dropout.when = 'optimizer=sgd';
      },
      'spec.parameters.dropout.when',
      /object/,
    ],
    [
      'wrong kind',
      (s) => {
        s.kind = 'TrainingJob';
      },
      'kind',
      /Sweep/,
    ],
  ];
  for (const [name, mutate, path, says] of bad) {
    it(`rejects ${name} at ${path}`, () => {
      const s = sweep();
      mutate(s);
      const result = validateSweep(s);
      assert.ok(!result.ok, 'accepted');
      assert.deepEqual(
        result.errors.map((e) => e.path),
        [path],
        JSON.stringify(result.errors),
      );
      if (says) assert.match(result.errors[0]?.message ?? '', says);
    });
  }

  it('accepts conditional parameters, nested, and int log', () => {
    const s = sweep();
    s.spec.parameters.momentum = { type: 'uniform', min: 0, max: 0.99, when: { optimizer: ['sgd'] } };
    s.spec.parameters.nesterov = {
      type: 'choice',
      values: [true, false],
      when: { optimizer: ['sgd'], layers: [2, 3] },
    };
    s.spec.parameters.dampening = { type: 'uniform', min: 0, max: 1, when: { nesterov: [false] } };
    s.spec.parameters.batch = { type: 'int', min: 8, max: 1024, log: true };
    const result = validateSweep(s);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.value.spec.parameters.nesterov, s.spec.parameters.nesterov);
  });

  it('parses a sweep from YAML with positions', () => {
    const text = [
      'apiVersion: kiln.dev/v1alpha1',
      'kind: Sweep',
      'metadata: {name: s}',
      'spec:',
      '  objective: {metric: val/acc, goal: maximize}',
      '  algorithm: {type: random}',
      '  parameters:',
      '    lr: {type: loguniform, min: 0.1, max: 0.01}',
      '  maxTrials: 10',
      '  trialTemplate: {image: i, command: [kiln]}',
    ].join('\n');
    const result = parseSweep(text, 'sweep.yaml');
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.map((e) => [e.path, e.line, e.column]),
      [['spec.parameters.lr.min', 8, 28]],
    );
  });
});
