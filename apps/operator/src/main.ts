// Entry point: `kiln-operator [--name=value ...]`. Exits 0 after a graceful shutdown on SIGTERM/SIGINT.
import { parseSettings } from './config.js';
import { Operator, type OperatorOptions } from './controller.js';

let options: OperatorOptions;
try {
  options = parseSettings(process.argv.slice(2), process.env);
} catch (err) {
  console.error(`kiln-operator: ${(err as Error).message}`);
  process.exit(2);
}
const operator = new Operator(options);
let signals = 0;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (signals++ > 0) process.exit(1);
    operator.log.info({ signal }, 'shutting down');
    operator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
operator.start().catch((err) => {
  operator.log.fatal({ err: String(err) }, 'operator failed to start');
  process.exit(1);
});
