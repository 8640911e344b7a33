"""The offline commands on study folders of 100, 1,000 and 10,000 trials, against a baseline.

Synthetic study folders are cloned from a real one (``--source``, a finished search study
such as ``results/quickstart``): every trial copies the files of one of its trials (its
curve, genotype, reports) under a new id, with its own varied settings -- a grid of two
temperature settings, or (``random``, ``optuna``) settings drawn uniformly, so that every
trial has its own values, as a random or Optuna search of continuous settings gives them.
Each trial also gets the ``config.json`` a trial of this version writes, and the folder an
experiment state listing every trial, as Tune leaves it.

Each command (``status``, ``best``, ``analyze``, ``report``; one named twice runs twice)
then runs in a fresh process, with this tree's code and with ``--baseline-ref``'s (a git
ref, checked out into a temporary worktree), alternating, on copies of the same folder;
the wall time and peak memory (maximum resident set) of each, and the ratio baseline /
this tree, are printed as JSON lines.  Each version starts every folder with an empty
analysis cache (:mod:`harness.analysis.trial_cache`) of its own: its first command reads
every trial file, the later ones what the cache remembers.  A command past ``--timeout``
seconds is stopped and reported as such.

  python bench/analysis_scale.py --source results/quickstart --sizes 1000 10000 \\
      --searchers grid random --commands status status best analyze --baseline-ref main
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import emit  # noqa: E402

COMMANDS = ("status", "best", "analyze", "report")
_TRIAL_FILES = ("metrics.jsonl", "result.json", "genotype.json")
_SESSION = "2026-12-06_00-00-00"


def _grid(size: int) -> tuple[list[float], list[float]]:
    """Two grids whose product is ``size`` trials: τ0 by anneal rate, as square as it divides."""
    rows = max(d for d in range(1, math.isqrt(size) + 1) if size % d == 0)
    cols = size // rows
    return ([round(0.5 + 3.5 * i / max(1, rows - 1), 6) for i in range(rows)],
            [round(0.5 + 0.45 * j / max(1, cols - 1), 6) for j in range(cols)])


def _settings(searcher: str, size: int, seed: int = 0) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """The study's space and searcher sections, and each trial's varied settings."""
    tau, rate = "search.temperature.initial", "search.temperature.anneal_rate"
    if searcher == "grid":
        taus, rates = _grid(size)
        space = {tau: {"grid": taus}, rate: {"grid": rates}}
        return {"space": space, "searcher": {"name": "grid"}}, [{tau: t, rate: r} for r in rates for t in taus]
    draw = random.Random(seed)
    space = {tau: {"uniform": [0.5, 4.0]}, rate: {"uniform": [0.5, 0.95]}}
    params = [{tau: draw.uniform(0.5, 4.0), rate: draw.uniform(0.5, 0.95)} for _ in range(size)]
    return {"space": space, "searcher": {"name": searcher, "num_samples": size}}, params


def _trial_state(trial_id: str, params: dict[str, Any], last: dict[str, Any]) -> list[str]:
    """One ``trial_data`` entry of Tune's experiment state (the plain fields the analysis reads)."""
    state = {"trial_id": trial_id, "status": "TERMINATED", "config": params,
             "relative_logdir": f"trial_{trial_id}", "trainable_name": "search_trial"}
    metadata = {"num_failures": 0, "last_result": last}
    return [json.dumps(state), json.dumps(metadata)]


def generate(source: Path, searcher: str, size: int, out: Path) -> Path:
    """A study folder of ``size`` trials cloned from ``source`` (see the module docstring)."""
    from harness.study import validate_study
    from harness.trialconfig import TrialSpec

    marker = out / ".generated"
    if marker.is_file() and marker.read_text() == f"{source.resolve()} {searcher} {size}\n":
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    frozen = yaml.safe_load((source / "study.yaml").read_text())
    sections, params = _settings(searcher, size)
    frozen.update(name=out.name, **sections, scheduler={"name": "fifo"}, provenance=None)
    frozen["search"].get("resource", {}).pop("policy_gradient", None)  # a key older versions do not know
    (out / "study.yaml").write_text(yaml.safe_dump(frozen, sort_keys=False))
    spec = TrialSpec.of(validate_study(frozen, str(out / "study.yaml"), frozen=True))
    sources = sorted(p for p in source.glob("trial_*") if (p / "metrics.jsonl").is_file())
    states = []
    for index, trial_params in enumerate(params):
        trial_id = f"b{size:05d}_{index:05d}"
        folder = out / f"trial_{trial_id}"
        folder.mkdir()
        original = sources[index % len(sources)]
        for name in _TRIAL_FILES:
            if (original / name).is_file():
                shutil.copyfile(original / name, folder / name)
        (folder / "params.json").write_text(json.dumps(trial_params))
        config = spec.config_of(trial_params).model_dump(mode="json", by_alias=True)
        (folder / "config.json").write_text(json.dumps({"kind": "search", "config": config, "changes": []}))
        last = json.loads((folder / "metrics.jsonl").read_text().splitlines()[-1])
        states.append(_trial_state(trial_id, trial_params, {**last, "training_iteration": last["epoch"]}))
    (out / f"experiment_state-{_SESSION}.json").write_text(json.dumps({"trial_data": states}))
    marker.write_text(f"{source.resolve()} {searcher} {size}\n")
    return out


def _run(code: Path, command: str, folder: Path, cache: Path, timeout: float) -> dict[str, Any]:
    """One command in a fresh process on ``code``'s tree, with the analysis cache in
    ``cache``: wall seconds and peak memory."""
    argv = [sys.executable, "-m", "harness.cli", command, str(folder)]
    timed = ["/usr/bin/time", "-f", "__peak_kb=%M __wall_s=%e", *argv]
    env = {**os.environ, "PYTHONPATH": str(code), "MPLBACKEND": "Agg", "SNAS_STUDY_CACHE": str(cache)}
    try:
        done = subprocess.run(timed, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return {"timed_out": True, "wall_s": timeout}
    line = next(line for line in done.stderr.splitlines() if line.startswith("__peak_kb="))
    peak, wall = (part.split("=")[1] for part in line.split())
    result = {"wall_s": float(wall), "peak_mib": int(peak) / 1024, "exit": done.returncode}
    if done.returncode:
        result["error"] = [line for line in done.stderr.splitlines() if line.strip()][-2][:300]
    return result


def _worktree(ref: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="snas-bench-baseline-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(path), ref], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT / "results" / "quickstart")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--searchers", nargs="+", default=["grid", "random"], choices=["grid", "random", "optuna"])
    parser.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=COMMANDS)
    parser.add_argument("--baseline-ref", help="git ref of the baseline code (none: this tree alone)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "snas-analysis-scale")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    if not (args.source / "study.yaml").is_file():
        parser.error(f"--source {args.source} is not a study folder; run `snas-study run studies/quickstart.yaml` "
                     f"first")
    baseline = _worktree(args.baseline_ref) if args.baseline_ref else None
    try:
        for searcher in args.searchers:
            for size in args.sizes:
                folder = generate(args.source, searcher, size, args.work / f"{searcher}-{size}")
                trees = {label: code for label, code in (("this", ROOT), ("baseline", baseline)) if code is not None}
                copies, caches = {}, {}
                for label in trees:  # each version reads its own copy, in the order a user runs the commands
                    copies[label], caches[label] = args.work / f"copy-{label}", args.work / f"cache-{label}"
                    for made in (copies[label], caches[label]):
                        shutil.rmtree(made, ignore_errors=True)
                    shutil.copytree(folder, copies[label], symlinks=True)
                for index, command in enumerate(args.commands):
                    record: dict[str, Any] = {"bench": "analysis_scale", "searcher": searcher, "trials": size,
                                              "command": command, "run": args.commands[:index + 1].count(command)}
                    for label, code in trees.items():
                        record[label] = _run(code, command, copies[label], caches[label], args.timeout)
                    if baseline is not None and "peak_mib" in record["this"]:
                        record["speedup"] = round(record["baseline"]["wall_s"] / record["this"]["wall_s"], 2)
                    emit(record)
    finally:
        if baseline is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], check=False)


if __name__ == "__main__":
    main()
