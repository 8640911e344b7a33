"""Where a search step's time goes: the top operators and Python functions of a variant.

For each ``--variants`` entry of :mod:`bench.search_step` (``official`` with
``--official CHECKOUT``, ``official_gdas`` with ``--official-gdas CHECKOUT``), after one
untimed step:

* **ops**: ``torch.profiler`` over ``--steps`` steps, the ``--top`` aten operators by self
  CPU time per step (with their calls per step), the total of all operators, and the wall
  time per step under the profiler;
* **python**: ``cProfile`` over ``--steps`` more steps, the ``--top`` functions by their
  own time per step (the time spent in the function's code and the C calls it makes,
  less the Python functions it calls), which shows per-call Python overhead.

Each variant runs in this process, one after the other: the figures say where time goes
within a step, not how two variants compare (``bench/search_step.py`` does that).

    python bench/step_profile.py --variants snas gdas darts --steps 3 --threads 2
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header  # noqa: E402
from bench.search_step import CONFIGS, OFFICIAL_CODES, make_step, usage_error  # noqa: E402


def top_ops(step: object, steps: int, top: int) -> dict[str, object]:
    """The ``top`` aten operators by self CPU seconds per step, and the wall time per step."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = (time.perf_counter() - start) / steps
    events = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    return {
        "wall_s_per_step": wall,
        "aten_self_s_per_step": sum(e.self_cpu_time_total for e in events) / 1e6 / steps,
        "aten_calls_per_step": sum(e.count for e in events) / steps,
        "top_ops": [{"op": e.key, "self_s_per_step": e.self_cpu_time_total / 1e6 / steps,
                     "calls_per_step": e.count / steps} for e in events[:top]],
    }


def top_functions(step: object, steps: int, top: int) -> dict[str, object]:
    """The ``top`` Python functions by their own seconds per step under cProfile."""
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(lambda: [step() for _ in range(steps)])
    wall = (time.perf_counter() - start) / steps
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (calls, primitive calls, own, cumulative, callers)
    rows = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return {
        "wall_s_per_step_cprofile": wall,
        "top_functions": [{"function": f"{Path(file).name}:{line}({name})", "own_s_per_step": own / steps,
                           "calls_per_step": calls / steps}
                          for (file, line, name), (calls, _, own, _, _) in rows],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="a", choices=sorted(CONFIGS))
    parser.add_argument("--variants", nargs="+", default=["snas", "gdas", "darts"])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    for name, code in OFFICIAL_CODES.items():
        parser.add_argument(code.flag, type=Path, metavar="CHECKOUT", dest=name,
                            help=f"a checkout of {code.repository}")
    args = parser.parse_args()
    for name, code in OFFICIAL_CODES.items():
        checkout = getattr(args, name)
        if name in args.variants and checkout is None:
            usage_error(f"the {name} variant needs {code.flag} CHECKOUT")
        if name in args.variants:
            missing = code.missing(checkout)
            if missing:
                usage_error(f"{checkout} is not a checkout of {code.repository} (no {missing[0]})")
            os.environ[code.env] = str(checkout.resolve())
    torch.set_num_threads(args.threads)
    for variant in args.variants:
        step, _ = make_step(variant, args.config, "cpu", True, False)
        step()
        emit({**header("step_profile"), "config": args.config, "variant": variant, "threads": args.threads,
              "steps": args.steps, **top_ops(step, args.steps, args.top),
              **top_functions(step, args.steps, args.top)})


if __name__ == "__main__":
    main()
