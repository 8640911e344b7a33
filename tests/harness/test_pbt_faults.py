"""A synchronous PBT study interrupted with Ctrl-C while one trial waits at a perturbation
for the other, then resumed: the population ends as the uninterrupted one (its curves, settings,
lineage and exploits).  Apart from test_faults.py (whose drivers and helpers it uses) so that
the slow suite's workers can share the fault campaign's studies between them."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from study_helpers import tiny_study, write_study
from test_faults import TIMING, driving

from harness.cli import main

pytestmark = pytest.mark.slow


PBT_EPOCHS = 5  # room for the Ctrl-C to land between perturbations, epochs before the end


def pbt_fault_study(name: str, root: Path) -> dict[str, Any]:
    """Two trials under synchronous PBT whose only randomness is forced: the weaker copies the
    stronger after every epoch but the last, multiplying τ0 by 1.5 (nothing is resampled).
    Each takes both CPUs, so they train one after the other: one trial often waits at a
    perturbation for the other."""
    return tiny_study(name, root, search={"epochs": PBT_EPOCHS, "temperature": {
                          "schedule": "exponential", "anneal_rate": 0.5, "min": 0.05}},
                      space={"search.temperature.initial": {"grid": [1.0, 2.0]}},
                      scheduler={"name": "pbt", "perturbation_interval": 1, "quantile_fraction": 0.5, "synch": True,
                                 "resample_probability": 0.0, "perturbation_factors": [1.5, 1.5],
                                 "mutations": {"search.temperature.initial": {"uniform": [0.5, 64.0]}}},
                      resources={"cpu": 2})


def history(trial_dir: Path) -> list[str]:
    """The lines of the trial's ``metrics.jsonl`` (none before its first epoch)."""
    path = trial_dir / "metrics.jsonl"
    return path.read_text().splitlines() if path.is_file() else []


def population(folder: Path) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Each trial's curve (wall-clock figures left out) and settings record, trial ids apart
    (they differ from run to run), in a stable order."""
    found = []
    for trial_dir in folder.glob("trial_*"):
        rows = [json.loads(line) for line in (trial_dir / "metrics.jsonl").read_text().splitlines()]
        record = json.loads((trial_dir / "config.json").read_text())
        ids = {trial_dir.name.removeprefix("trial_"): "self"}
        ids.update({t.name.removeprefix("trial_"): "other" for t in folder.glob("trial_*") if t != trial_dir})
        lineage, exploits = ([{**e, "donor": ids[e["donor"]]} for e in record.get(key, [])]
                             for key in ("lineage", "exploits"))
        found.append(([{k: v for k, v in row.items() if k not in TIMING} for row in rows],
                      {"config": record["config"], "changes": record["changes"], "lineage": lineage,
                       "exploits": exploits}))
    return sorted(found, key=lambda trial: json.dumps(trial, sort_keys=True))


def test_ctrl_c_of_a_pbt_study_then_resume_finishes_as_the_uninterrupted_population(tmp_path, ray_local):
    reference = write_study(tmp_path / "r.yaml", pbt_fault_study("pbt_reference", tmp_path / "results"))
    assert main(["run", str(reference), "--quiet"]) == 0
    path = write_study(tmp_path / "s.yaml", pbt_fault_study("pbt_ctrl_c", tmp_path / "results"))
    folder = tmp_path / "results" / "pbt_ctrl_c"
    with driving() as start:
        run = start("run", str(path))
        # The trials' own histories: Tune's result.json of a trial that copied another can
        # lose lines when Tune restarts it.
        # Cut while one trial waits at a perturbation the other has yet to reach (for half a
        # second: time for Tune to pause it and record its checkpoint) -- where a resumed
        # population hung on 2026-12-06; failing such a moment, before the end anyway.
        seen: list[tuple[float, list[int]]] = []

        def one_waits_for_the_other() -> bool:
            done = sorted(len(history(t)) for t in folder.glob("trial_*"))
            if not seen or seen[-1][1] != done:
                seen.append((time.monotonic(), done))
            if len(done) < 2 or done[0] < 2:
                return False
            waits = done[0] < done[1] <= PBT_EPOCHS - 2 and time.monotonic() - seen[-1][0] >= 0.5
            return waits or done[1] >= PBT_EPOCHS - 1

        run.watch(one_waits_for_the_other)
        run.process.send_signal(signal.SIGINT)
        code, out, err = run.ended()
        assert code == 130 and "Traceback" not in err, out + err
        assert any(len(history(t)) < PBT_EPOCHS for t in folder.glob("trial_*"))  # really cut short
        code, out, err = start("resume", str(folder)).ended()
        assert code == 0 and "Traceback" not in err, out + err
        assert "Restored on" not in out + err  # Ray's INFO line of every restore stays off the console
        assert "Remote file not found" not in out + err  # nor Tune's result-file warning of each exploit
    expected = population(tmp_path / "results" / "pbt_reference")
    assert sum(len(settings["exploits"]) for _, settings in expected) == PBT_EPOCHS - 1  # one per perturbation
    assert population(folder) == expected
