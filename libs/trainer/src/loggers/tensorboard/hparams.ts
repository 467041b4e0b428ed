import type { PlainValue } from '../values.js';
import { decodeString, ProtoWriter, readFields } from './protobuf.js';

// TensorBoard's hparams plugin data (tensorboard/plugins/hparams/plugin_data.proto):
//   HParamsPluginData { int32 version = 1; SessionStartInfo session_start_info = 3; SessionEndInfo session_end_info = 4; }
//   SessionStartInfo  { map<string, google.protobuf.Value> hparams = 1; string group_name = 4; double start_time_secs = 5; }
//   SessionEndInfo    { Status status = 1; double end_time_secs = 2; }
//   google.protobuf.Value { NullValue null_value = 1; double number_value = 2; string string_value = 3; bool bool_value = 4; }
// Without an experiment summary the plugin builds the experiment from the runs' session infos.

export const PLUGIN_NAME = 'hparams';
export const SESSION_START_TAG = '_hparams_/session_start_info';
export const SESSION_END_TAG = '_hparams_/session_end_info';

export enum SessionStatus {
  Unknown = 0,
  Success = 1,
  Failure = 2,
  Running = 3,
}

/** Flat hyperparameters (see flattenHparams): nested values were already turned into strings. */
export function sessionStartInfo(hparams: Record<string, PlainValue>, startTimeSecs: number): Uint8Array {
  return new ProtoWriter()
    .message(3, (ssi) => {
      for (const [key, value] of Object.entries(hparams)) {
        ssi.message(1, (entry) => entry.string(1, key).message(2, (v) => encodeValue(v, value)));
      }
      ssi.double(5, startTimeSecs);
    })
    .finish();
}

export function sessionEndInfo(status: SessionStatus, endTimeSecs: number): Uint8Array {
  return new ProtoWriter().message(4, (sei) => sei.uint(1, status).double(2, endTimeSecs)).finish();
}

function encodeValue(w: ProtoWriter, value: PlainValue): void {
  if (value === null) w.uint(1, 0);
  else if (typeof value === 'number') w.double(2, value);
  else if (typeof value === 'string') w.string(3, value);
  else if (typeof value === 'boolean') w.bool(4, value);
  else w.string(3, JSON.stringify(value));
}

/** Reads back what sessionStartInfo wrote (for tests and tools). */
export function decodeSessionStartInfo(content: Uint8Array): Record<string, PlainValue> {
  const out: Record<string, PlainValue> = {};
  for (const f of readFields(content)) {
    if (f.field !== 3 || !f.bytes) continue;
    for (const entry of readFields(f.bytes)) {
      if (entry.field !== 1 || !entry.bytes) continue;
      let key = '';
      let value: PlainValue = null;
      for (const e of readFields(entry.bytes)) {
        if (e.field === 1) key = decodeString(e.bytes);
        else if (e.field === 2 && e.bytes) {
          for (const v of readFields(e.bytes)) {
            if (v.field === 1) value = null;
            else if (v.field === 2 && v.fixed64) value = v.fixed64.getFloat64(0, true);
            else if (v.field === 3) value = decodeString(v.bytes);
            else if (v.field === 4) value = v.varint === 1n;
          }
        }
      }
      out[key] = value;
    }
  }
  return out;
}
