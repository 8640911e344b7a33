"""Why a GDAS step is not compiled: its graphs per sampled architecture, and where its time goes.

Two measurements at a config of :mod:`bench.search_step`:

* **graphs**: the supernet's forward (``SuperNet._cells``) under Dynamo with a backend that
  only counts the graphs it is handed (no Inductor), over ``--steps`` GDAS steps with fresh
  samples each, the recompile limit raised so that every architecture is seen.  A hard
  sample decides which op runs on each edge, so each new sample is a new graph; Inductor
  would spend minutes on each (``bench/search_step.py`` measures a soft graph's compile).
* **profile**: ``torch.profiler`` over eager GDAS steps, self CPU time by operator group:
  convolutions and matrix products (oneDNN calls Inductor leaves as they are), the
  elementwise and normalisation ops Inductor could fuse, and the rest; against the wall
  time, whose remainder is Python and dispatch between the calls.

    python bench/hard_path_profile.py --config a --steps 4 [--parts graphs profile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
import torch._dynamo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header  # noqa: E402
from bench.search_step import CONFIGS, make_step  # noqa: E402

_MATMUL_LIKE = ("conv", "mm", "matmul", "linear", "addmm", "bmm")
_FUSABLE = ("batch_norm", "relu", "add", "mul", "cat", "copy_", "threshold", "sum", "div", "sub", "fill_",
            "zero_", "clone", "index_select", "max_pool", "avg_pool", "native_batch_norm", "where")


def count_graphs(config: str, steps: int) -> dict[str, float]:
    """Distinct Dynamo graphs of the supernet forward over ``steps`` GDAS steps."""
    step, search = make_step("gdas", config, "cpu", True, False)
    graphs = []

    def counting_backend(graph: torch.fx.GraphModule, example_inputs: list) -> object:
        graphs.append(len(graph.graph.nodes))
        return graph.forward

    torch._dynamo.reset()
    torch._dynamo.config.recompile_limit = 10 * steps
    traced = torch.compile(search.model._cells, backend=counting_backend, dynamic=False)
    model_forward = search.model.forward

    def forward_through_dynamo(x, normal, reduce, drop_prob=0.0, generator=None):  # noqa: ANN001, ANN202
        return traced(x, normal, reduce, None, 1.0)

    search.model.forward = forward_through_dynamo
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    search.model.forward = model_forward
    return {"steps": steps, "forward_passes": 2 * steps, "graphs": len(graphs),
            "median_graph_nodes": statistics.median(graphs) if graphs else 0, "trace_s_per_step": seconds / steps}


def profile_steps(config: str, steps: int) -> dict[str, float]:
    """Self CPU seconds per step by operator group, and the wall time per step."""
    step, _ = make_step("gdas", config, "cpu", True, False)
    step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = (time.perf_counter() - start) / steps
    groups: dict[str, float] = defaultdict(float)
    calls = 0
    for event in prof.key_averages():
        if not event.key.startswith("aten::"):
            continue
        name = event.key.removeprefix("aten::")
        group = ("matmul_like" if any(k in name for k in _MATMUL_LIKE)
                 else "fusable" if any(k in name for k in _FUSABLE) else "other_ops")
        groups[group] += event.self_cpu_time_total / 1e6 / steps
        calls += event.count
    accounted = sum(groups.values())
    return {"wall_s_per_step": wall, **{f"{g}_s_per_step": v for g, v in groups.items()},
            "between_ops_s_per_step": max(wall - accounted, 0.0), "aten_calls_per_step": calls / steps}


_PARTS = {"graphs": count_graphs, "profile": profile_steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="a", choices=sorted(CONFIGS))
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--parts", nargs="+", default=list(_PARTS), choices=list(_PARTS))
    args = parser.parse_args()
    for part in args.parts:
        emit({**header("hard_path_profile"), "config": args.config, "part": part,
              **_PARTS[part](args.config, args.steps)})


if __name__ == "__main__":
    main()
