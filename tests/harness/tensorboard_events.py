"""Reading TensorBoard event files back, as TensorBoard itself reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def read_runs(logdir: Path) -> dict[str, dict[str, Any]]:
    """Per run (its folder relative to ``logdir``): scalar steps per tag, text tags and hparams."""
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
    from tensorboard.plugins.hparams import plugin_data_pb2

    multiplexer = EventMultiplexer().AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    runs: dict[str, dict[str, Any]] = {}
    for run in multiplexer.Runs():
        accumulator = multiplexer.GetAccumulator(run)
        runs[run] = {
            "scalars": {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)]
                        for tag in accumulator.Tags()["scalars"]},
            "texts": accumulator.Tags()["tensors"],
            "hparams": {}, "metrics": [],
        }
    for run, tags in multiplexer.PluginRunToTagToContent("hparams").items():
        for content in tags.values():
            data = plugin_data_pb2.HParamsPluginData.FromString(content)
            if data.HasField("session_start_info"):
                for name, value in data.session_start_info.hparams.items():
                    runs[run]["hparams"][name] = getattr(value, value.WhichOneof("kind"))
            if data.HasField("experiment"):
                runs[run]["metrics"] = [m.name.tag for m in data.experiment.metric_infos]
    return runs
