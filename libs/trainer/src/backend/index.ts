export {
  BackendOptionError,
  BackendUnavailableError,
  explainKernelError,
  NATIVE_INSTALL_COMMAND,
} from './errors.js';
export { selectBackend, withKernelHelp } from './select.js';
export type { Accelerator, BackendInfo, BackendName, SelectBackendOptions } from './types.js';
