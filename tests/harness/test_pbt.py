"""A real PBT study: a population of two tiny searches on ``digits`` in which an exploit is forced.

Synchronous PBT with ``quantile_fraction`` 0.5 splits two trials into a top and a bottom
half at every perturbation, so after epoch 1 the weaker trial (A) copies the stronger (B);
at the last epoch nothing is perturbed.  Both perturbation factors are 1.5 and nothing is
resampled, so A's new τ0 is B's times 1.5, whichever way the scores fall.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from study_helpers import tiny_study, write_study

from harness.cli import main
from snas.checkpoint import load_checkpoint
from snas.config import SearchConfig
from snas.search import Search

pytestmark = pytest.mark.slow

ANNEAL, MINIMUM, FACTOR = 0.5, 0.05, 1.5
TIMINGS = ("epoch_time_s", "images_per_s")


@pytest.fixture(scope="module")
def pbt_study(ray_local, tmp_path_factory):
    root = tmp_path_factory.mktemp("pbt")
    study = tiny_study(
        "pbt", root / "results",
        data={"dataset": "digits", "image_size": 8, "split": {"train_size": 256, "val_size": 128}},
        search={"epochs": 2, "batch_size": 64, "eval_layers": 3, "eval_channels": 4,
                "temperature": {"schedule": "exponential", "anneal_rate": ANNEAL, "min": MINIMUM}},
        space={"search.temperature.initial": {"grid": [1.0, 2.0]}},
        scheduler={"name": "pbt", "perturbation_interval": 1, "quantile_fraction": 0.5, "synch": True,
                   "resample_probability": 0.0, "perturbation_factors": [FACTOR, FACTOR],
                   "mutations": {"search.temperature.initial": {"uniform": [0.5, 4.0]}}},
        resources={"cpu": 1, "max_concurrent": 2})
    code = main(["run", str(write_study(root / "pbt.yaml", study)), "--quiet"])
    return code, root / "results" / "pbt"


def _trials(folder):
    """``{trial id: (config.json, metrics rows, folder)}``."""
    trials = {}
    for trial in sorted(folder.glob("trial_*")):
        record = json.loads((trial / "config.json").read_text())
        rows = [json.loads(line) for line in (trial / "metrics.jsonl").read_text().splitlines()]
        trials[trial.name.removeprefix("trial_")] = (record, rows, trial)
    return trials


def _checkpoint_at(trial_folder, epoch):
    """The trial's checkpoint of ``epoch`` that it saved itself (the lineage file says who did)."""
    for path in sorted(trial_folder.glob("checkpoint_*/checkpoint.pt")):
        saver = json.loads((path.parent / "lineage.json").read_text())["trial"]
        if load_checkpoint(path, "search")["epoch"] == epoch and saver == trial_folder.name.removeprefix("trial_"):
            return path
    raise AssertionError(f"no checkpoint of epoch {epoch} in {trial_folder}")


def _without_timings(row):
    return {key: value for key, value in row.items() if key not in TIMINGS}


def test_the_weaker_trial_continues_from_the_stronger_with_its_temperature_perturbed(pbt_study):
    code, folder = pbt_study
    assert code == 0
    trials = _trials(folder)
    exploiting = [tid for tid, (record, _, _) in trials.items() if record.get("exploits")]
    assert len(exploiting) == 1 and len(trials) == 2
    a = exploiting[0]
    (b,) = set(trials) - {a}
    record_a, rows_a, _ = trials[a]
    record_b, rows_b, _ = trials[b]
    assert record_a["exploits"] == record_a["lineage"] == [{"epoch": 1, "donor": b}]
    assert "exploits" not in record_b and "lineage" not in record_b
    tau0_b = record_b["config"]["temperature"]["initial"]
    assert record_b["changes"] == [] and tau0_b in (1.0, 2.0)
    assert record_a["changes"] == [{"epoch": 1, "settings": {"temperature.initial": [tau0_b, FACTOR * tau0_b]}}]
    # A's curve is B's up to the exploit, then continues from it: τ for epoch 2 is B's own
    # next τ (τ0 · r) times the factor, annealing on at the same rate.
    assert [_without_timings(r) for r in rows_a[:1]] == [_without_timings(r) for r in rows_b[:1]]
    assert [r["epoch"] for r in rows_a] == [1, 2]
    assert rows_b[1]["temperature"] == pytest.approx(max(MINIMUM, tau0_b * ANNEAL))
    assert rows_a[1]["temperature"] == pytest.approx(max(MINIMUM, tau0_b * ANNEAL * FACTOR))


def test_the_copy_holds_the_donors_weights_and_alphas(pbt_study):
    """A's state after its second epoch is B's state at epoch 1 (weights, α, optimisers, RNG
    streams) trained one epoch under A's perturbed settings: reproduced here bit for bit."""
    _, folder = pbt_study
    trials = _trials(folder)
    a = next(tid for tid, (record, _, _) in trials.items() if record.get("exploits"))
    record_a, _, folder_a = trials[a]
    _, _, folder_b = trials[record_a["exploits"][0]["donor"]]
    donor = Search.restore(_checkpoint_at(folder_b, 1), config=SearchConfig.model_validate(record_a["config"]))
    donor.run_epoch()
    copy = Search.restore(_checkpoint_at(folder_a, 2))
    assert copy.epoch == donor.epoch == 2
    for mine, theirs in zip(copy.alphas.parameters(), donor.alphas.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    weights, reproduced = copy.model.state_dict(), donor.model.state_dict()
    assert weights.keys() == reproduced.keys()
    assert all(torch.equal(weights[key], reproduced[key]) for key in weights)


def test_the_analysis_shows_the_lineage(pbt_study, capsys):
    _, folder = pbt_study
    trials = pd.read_csv(folder / "analysis" / "trials.csv").set_index("trial_id")
    curves = pd.read_csv(folder / "analysis" / "curves.csv")
    a = trials.index[trials["exploits"] == 1][0]
    b = trials.loc[a, "donors"]
    assert trials.loc[b, "exploits"] == 0 and trials.loc[a, "tau0"] == FACTOR * trials.loc[b, "tau0"]
    in_force = curves[curves["trial_id"] == a].sort_values("epoch")["tau0"].tolist()
    assert in_force == [trials.loc[b, "tau0"], FACTOR * trials.loc[b, "tau0"]]
    assert (folder / "plots" / "population.png").stat().st_size > 5000
    winner = json.loads((folder / "analysis" / "best.json").read_text())["trials"][0]["trial_id"]
    tau = curves[curves["trial_id"] == winner].sort_values("epoch")["temperature"].tolist()
    report = (folder / "report.html").read_text()
    assert (f"<h2>What PBT found</h2><p>The winning schedule is trial {winner}&#x27;s (search_val_acc "
            f"{trials.loc[winner, 'score']:.2f}): τ fell from {tau[0]:.3g} at epoch 1 to {tau[1]:.3g} by epoch 2") \
        in report
    assert main(["status", str(folder)]) == 0
    out = capsys.readouterr().out.splitlines()
    header = out[1].split()
    assert header[:3] == ["trial", "tau0", "exploits"]
    assert {line.split()[0]: line.split()[2] for line in out[2:4]} == {a: "1", b: "0"}


def test_replay_reruns_the_winners_schedule_from_epoch_0(pbt_study, capsys):
    """With the seed the population ran with, the replay's curve is the winner's, bit for bit:
    the winner's lineage is one search whose settings changed where its config.json says."""
    _, folder = pbt_study
    winner = json.loads((folder / "analysis" / "best.json").read_text())["trials"][0]["trial_id"]
    assert main(["replay", str(folder), "--seeds", "1", "--quiet"]) == 0
    assert (f"pbt-replay: the schedule trial {winner} of {folder} followed (its lineage's changes of settings), "
            f"replayed from epoch 0 with 1 seed(s):") in capsys.readouterr().out
    (replayed,) = (folder.parent / "pbt-replay").glob("trial_*")
    record, rows, _ = _trials(folder)[winner]
    again = json.loads((replayed / "config.json").read_text())
    again_rows = [json.loads(line) for line in (replayed / "metrics.jsonl").read_text().splitlines()]
    assert [_without_timings(r) for r in again_rows] == [_without_timings(r) for r in rows]
    assert again["changes"] == record["changes"] and again["config"] == record["config"]
