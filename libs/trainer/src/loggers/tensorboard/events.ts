import { decodeString, ProtoWriter, readFields } from './protobuf.js';

// The messages of TensorFlow's event files that the logger writes, by field number:
//   Event          { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary        { repeated Value value = 1; }
//   Summary.Value  { string tag = 1; float simple_value = 2; TensorProto tensor = 8; SummaryMetadata metadata = 9; }
//   SummaryMetadata{ PluginData plugin_data = 1; }   PluginData { string plugin_name = 1; bytes content = 2; }
//   TensorProto    { DataType dtype = 1; TensorShapeProto tensor_shape = 2; float float_val = 5; repeated bytes string_val = 8; }
//   TensorShapeProto { repeated Dim dim = 2; }       Dim { int64 size = 1; }

export const FILE_VERSION = 'brain.Event:2';
export const DT_FLOAT = 1;
export const DT_STRING = 7;

export interface TensorValue {
  dtype: number;
  shape: number[];
  floatVal: number[];
  stringVal: Uint8Array[];
}

export interface SummaryValue {
  tag: string;
  simpleValue?: number;
  pluginName?: string;
  pluginContent?: Uint8Array;
  tensor?: TensorValue;
}

export interface TfEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values?: SummaryValue[];
}

export function encodeEvent(event: TfEvent): Uint8Array {
  const w = new ProtoWriter().double(1, event.wallTime);
  if (event.step !== 0) w.uint(2, event.step);
  if (event.fileVersion !== undefined) w.string(3, event.fileVersion);
  if (event.values) {
    const values = event.values;
    w.message(5, (summary) => {
      for (const v of values) summary.message(1, (m) => encodeValue(m, v));
    });
  }
  return w.finish();
}

function encodeValue(w: ProtoWriter, v: SummaryValue): void {
  w.string(1, v.tag);
  if (v.simpleValue !== undefined) w.float(2, v.simpleValue);
  const tensor = v.tensor;
  if (tensor) {
    w.message(8, (t) => {
      t.uint(1, tensor.dtype);
      t.message(2, (shape) => {
        for (const size of tensor.shape) shape.message(2, (dim) => dim.uint(1, size));
      });
      for (const f of tensor.floatVal) t.float(5, f);
      for (const s of tensor.stringVal) t.bytes(8, s);
    });
  }
  if (v.pluginName !== undefined) {
    const name = v.pluginName;
    const content = v.pluginContent ?? new Uint8Array();
    w.message(9, (md) => md.message(1, (pd) => pd.string(1, name).bytes(2, content)));
  }
}

export function decodeEvent(bytes: Uint8Array): TfEvent {
  const event: TfEvent = { wallTime: 0, step: 0 };
  for (const f of readFields(bytes)) {
    if (f.field === 1 && f.fixed64) event.wallTime = f.fixed64.getFloat64(0, true);
    else if (f.field === 2 && f.varint !== undefined) event.step = Number(BigInt.asIntN(64, f.varint));
    else if (f.field === 3 && f.bytes) event.fileVersion = decodeString(f.bytes);
    else if (f.field === 5 && f.bytes) {
      event.values ??= [];
      for (const v of readFields(f.bytes))
        if (v.field === 1 && v.bytes) event.values.push(decodeValue(v.bytes));
    }
  }
  return event;
}

function decodeValue(bytes: Uint8Array): SummaryValue {
  const value: SummaryValue = { tag: '' };
  for (const f of readFields(bytes)) {
    if (f.field === 1) value.tag = decodeString(f.bytes);
    else if (f.field === 2 && f.fixed32) value.simpleValue = f.fixed32.getFloat32(0, true);
    else if (f.field === 8 && f.bytes) value.tensor = decodeTensor(f.bytes);
    else if (f.field === 9 && f.bytes) {
      for (const md of readFields(f.bytes)) {
        if (md.field !== 1 || !md.bytes) continue;
        for (const pd of readFields(md.bytes)) {
          if (pd.field === 1) value.pluginName = decodeString(pd.bytes);
          else if (pd.field === 2) value.pluginContent = pd.bytes;
        }
      }
    }
  }
  return value;
}

function decodeTensor(bytes: Uint8Array): TensorValue {
  const t: TensorValue = { dtype: 0, shape: [], floatVal: [], stringVal: [] };
  for (const f of readFields(bytes)) {
    if (f.field === 1 && f.varint !== undefined) t.dtype = Number(f.varint);
    else if (f.field === 2 && f.bytes) {
      for (const dim of readFields(f.bytes)) {
        if (dim.field !== 2 || !dim.bytes) continue;
        const size = readFields(dim.bytes).find((d) => d.field === 1)?.varint ?? 0n;
        t.shape.push(Number(BigInt.asIntN(64, size)));
      }
    } else if (f.field === 5 && f.fixed32) t.floatVal.push(f.fixed32.getFloat32(0, true));
    else if (f.field === 5 && f.bytes) {
      // packed repeated floats
      const view = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
      for (let i = 0; i + 4 <= f.bytes.length; i += 4) t.floatVal.push(view.getFloat32(i, true));
    } else if (f.field === 8 && f.bytes) t.stringVal.push(f.bytes);
  }
  return t;
}
