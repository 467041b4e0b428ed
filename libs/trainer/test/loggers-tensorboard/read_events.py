"""Reads a Kiln event file with TensorBoard's own code and prints what TensorBoard sees, as JSON.

Usage: python read_events.py <event file>
Records are first read with TensorBoard's record reader, which checks both CRCs of every record and
raises DataLossError on a mismatch (EventAccumulator alone would stop quietly at a bad record).
"""

import json
import math
import sys

from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata


def number(x):
    return x if math.isfinite(x) else str(x)  # 'nan', 'inf', '-inf'


def value(v):
    """google.protobuf.Value → plain JSON (NaN as a string, which json_format refuses)."""
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        return number(v.number_value)
    if kind == "null_value":
        return None
    return getattr(v, kind)


def main(path):
    reader = pywrap_tensorflow.PyRecordReader_New(path)
    records, file_version = 0, None
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            break
        event = event_pb2.Event.FromString(reader.record())
        if event.HasField("file_version"):
            file_version = event.file_version
        records += 1

    acc = event_accumulator.EventAccumulator(path, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    scalars = {
        tag: [{"step": e.step, "value": number(e.value), "wall_time": e.wall_time} for e in acc.Scalars(tag)]
        for tag in acc.Tags()["scalars"]
    }
    text = {}
    for tag in acc.Tags()["tensors"]:
        if acc.SummaryMetadata(tag).plugin_data.plugin_name == "text":
            text[tag] = acc.Tensors(tag)[0].tensor_proto.string_val[0].decode("utf-8")

    # the accumulator behind TensorBoard's server: scalars migrated to tensors, plugin data by tag
    plugin_acc = plugin_event_accumulator.EventAccumulator(path, size_guidance={"tensors": 0})
    plugin_acc.Reload()
    hparams, status = None, None
    content = plugin_acc.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    if hparams_metadata.SESSION_START_INFO_TAG in content:
        ssi = hparams_metadata.parse_session_start_info_plugin_data(content[hparams_metadata.SESSION_START_INFO_TAG])
        hparams = {k: value(v) for k, v in ssi.hparams.items()}
    if hparams_metadata.SESSION_END_INFO_TAG in content:
        sei = hparams_metadata.parse_session_end_info_plugin_data(content[hparams_metadata.SESSION_END_INFO_TAG])
        status = api_pb2.Status.Name(sei.status)
    json.dump(
        {
            "records": records,
            "file_version": file_version,
            "scalars": scalars,
            "text": text,
            "server_tensor_tags": sorted(plugin_acc.Tags()["tensors"]),
            "hparams": hparams,
            "session_status": status,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main(sys.argv[1])
