"""Run every benchmark and collect their JSON lines into results/bench/<date>.json.

A run with --only replaces the records of the benchmarks it ran in that day's file.

    python bench/run_all.py [--only search_step data_pipeline ...] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, machine  # noqa: E402

HERE = Path(__file__).resolve().parent
# search_step: 9 rounds, because a GDAS step's cost depends on the architecture it samples
# (over 16 samples at config a, best of 3 steps each: 0.29-0.45 s, 1.6× apart), so its
# median over 5 rounds moved the gdas/snas ratio by ±5% from run to run.
BENCHMARKS: dict[str, list[str]] = {
    "search_step": ["search_step.py", "--configs", "a", "b", "--repeats", "9"],
    "data_pipeline": ["data_pipeline.py", "--threads", "1"],
    "roofline": ["roofline.py", "--config", "a"],
    "harness_overhead": ["harness_overhead.py"],
    "asha_savings": ["asha_savings.py"],
    "data_parallel": ["data_parallel.py", "--rounds", "3", "--steps", "5"],
    "pbt_overhead": ["pbt_overhead.py"],
    "proxy_cost": ["proxy_cost.py", "--genotypes", "3", "--steps", "2"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    records: list[dict] = []
    with tempfile.TemporaryDirectory() as folder:
        lines = Path(folder) / "records.jsonl"
        for name in args.only:
            command = [sys.executable, str(HERE / BENCHMARKS[name][0]), *BENCHMARKS[name][1:]]
            if args.device != "cpu" and name in ("search_step", "data_pipeline", "roofline"):
                command += ["--device", args.device]
            print(f"== {name}: {' '.join(command[1:])}", flush=True)
            done = subprocess.run(command, env={**os.environ, "SNAS_BENCH_OUT": str(lines)})
            if done.returncode != 0:
                print(f"{name} failed with exit code {done.returncode}", file=sys.stderr)
        if lines.is_file():
            records = [json.loads(line) for line in lines.read_text().splitlines()]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{dt.date.today().isoformat()}.json"
    if out.is_file():  # a partial re-run (--only) replaces those benchmarks' records, keeps the others
        earlier = json.loads(out.read_text())["records"]
        records = [r for r in earlier if r.get("bench") not in args.only] + records
    out.write_text(json.dumps({"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
                               "records": records}, indent=1) + "\n")
    print(f"wrote {out} ({len(records)} records)")


if __name__ == "__main__":
    main()
