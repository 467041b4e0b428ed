export { DynamicLossScaler, type LossScalerOptions, type LossScalerState } from './loss-scaler.js';
export {
  PRECISIONS,
  type Precision,
  PrecisionError,
  type PrecisionPlan,
  resolvePrecision,
} from './support.js';
