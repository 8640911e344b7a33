"""Lineage under population-based training: what trials record of the states they copied,
and the settings in force at each epoch read back from ``config.json``."""

from __future__ import annotations

import json
import re

import pytest

from harness.lineage import LINEAGE_FILE, Lineage, earlier_exploits
from harness.trialconfig import parse_resolved_config
from snas.errors import UserInputError


def _checkpoint(tmp_path, name, trial, copies):
    folder = tmp_path / name
    folder.mkdir()
    Lineage(trial, copies).save(folder)
    return folder


def test_a_restart_keeps_the_trials_lineage_and_a_copy_adds_the_donor(tmp_path):
    own = _checkpoint(tmp_path, "own", "a", [{"epoch": 2, "donor": "c"}])
    donors = _checkpoint(tmp_path, "donors", "b", [{"epoch": 1, "donor": "d"}])
    restarted = Lineage("a", exploits=[{"epoch": 2, "donor": "c"}])
    restarted.continue_from(own, epoch=3)
    assert restarted.copies == restarted.exploits == [{"epoch": 2, "donor": "c"}]
    restarted.continue_from(donors, epoch=4)  # its state is b's now: b's lineage, then this copy
    assert restarted.copies == [{"epoch": 1, "donor": "d"}, {"epoch": 4, "donor": "b"}]
    assert restarted.exploits == [{"epoch": 2, "donor": "c"}, {"epoch": 4, "donor": "b"}]  # every copy it made


def test_a_trial_restarted_by_tune_keeps_the_exploits_its_config_lists():
    config = json.dumps({"kind": "search", "config": {"epochs": 2}, "changes": [],
                         "lineage": [{"epoch": 1, "donor": "b"}], "exploits": [{"epoch": 1, "donor": "b"}]})
    assert earlier_exploits(config) == [{"epoch": 1, "donor": "b"}]
    assert earlier_exploits(None) == earlier_exploits("{cut") == earlier_exploits('{"exploits": [3]}') == []


@pytest.mark.parametrize("text", [None, "{not json", '{"trial": 3, "lineage": []}',
                                  '{"trial": "b", "lineage": [{"epoch": "1", "donor": "a"}]}'])
def test_a_checkpoint_without_a_readable_lineage_counts_as_the_trials_own(tmp_path, text):
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    if text is not None:
        (folder / LINEAGE_FILE).write_text(text)
    lineage = Lineage("a", [{"epoch": 1, "donor": "b"}], [{"epoch": 1, "donor": "b"}])
    lineage.continue_from(folder, epoch=5)
    assert lineage.copies == lineage.exploits == [{"epoch": 1, "donor": "b"}]


def test_the_settings_in_force_at_each_epoch_undo_the_later_changes():
    """τ0 2.0 for epochs 1-2, 3.0 for epoch 3 (changed after epoch 2), 2.4 from epoch 4 on."""
    resolved = parse_resolved_config({
        "kind": "search", "config": {"epochs": 5, "temperature": {"initial": 2.4, "min": 0.05}},
        "changes": [{"epoch": 2, "settings": {"temperature.initial": [2.0, 3.0]}},
                    {"epoch": 3, "settings": {"temperature.initial": [3.0, 2.4]}}],
        "lineage": [{"epoch": 3, "donor": "b"}], "exploits": [{"epoch": 3, "donor": "b"}]})
    assert [resolved.setting_at("temperature.initial", epoch) for epoch in range(1, 6)] == [2.0, 2.0, 3.0, 2.4, 2.4]
    assert [resolved.setting_at("temperature.min", epoch) for epoch in (1, 5)] == [0.05, 0.05]
    assert resolved.lineage == resolved.exploits == [{"epoch": 3, "donor": "b"}]


def test_exploits_that_are_not_what_trials_write_are_refused():
    for key in ("lineage", "exploits"):
        with pytest.raises(ValueError, match=rf"^its {key} is not a list of \{{epoch, donor\}} records$"):
            parse_resolved_config({"kind": "search", "config": {"epochs": 2}, "changes": [],
                                   key: [{"epoch": 1, "donor": 7}]})
    older = parse_resolved_config(json.loads('{"kind": "search", "config": {"epochs": 2}}'))
    assert older.lineage == older.exploits == []


def _control_study(seeds: bool):
    import yaml

    from harness.study import validate_study

    data = yaml.safe_load(open("studies/pbt_temperature.yaml"))
    data["space"] = {"search.temperature.initial": {"grid": [1.0, 2.0]}, "population.control": {"grid": [False, True]},
                     **({"search.seed": {"grid": [0, 1, 2]}} if seeds else {})}
    data["scheduler"]["mutations"] = {"search.temperature.initial": {"loguniform": [0.1, 8.0]}}
    return validate_study(data, "control")


def _trial(trial_id, seed, control, initial, score):
    return {"trial_id": trial_id, "seed": seed, "control": control, "tau0": initial, "score": score,
            "stopped_early": False}


def test_the_population_winner_is_set_against_fixed_settings_seed_by_seed():
    import pandas as pd

    from harness.analysis.population import population_vs_control

    trials = pd.DataFrame([
        _trial("p0", 0, False, 1.7, 0.90), _trial("q0", 0, False, 0.4, 0.70), _trial("p1", 1, False, 1.1, 0.80),
        _trial("q1", 1, False, 3.0, float("nan")), _trial("p2", 2, False, 2.2, 0.85), _trial("q2", 2, False, 1.0, 0.6),
        _trial("a0", 0, True, 1.0, 0.88), _trial("a1", 1, True, 1.0, 0.82), _trial("a2", 2, True, 1.0, 0.80),
        _trial("b0", 0, True, 2.0, 0.86), _trial("b1", 1, True, 2.0, 0.84), _trial("b2", 2, True, 2.0, 0.83)])
    table = population_vs_control(trials, _control_study(seeds=True)).set_index("comparison")
    # t(0.975, 2) = 4.302653; the population's bests 0.90, 0.80, 0.85: sd 0.05
    winner = table.loc["population winner"]
    assert (winner["n"], winner["mean"]) == (3, pytest.approx(0.85))
    assert winner["ci95_low"] == pytest.approx(0.85 - 4.302653 * 0.05 / 3 ** 0.5, abs=1e-6)
    assert winner["detail"] == "seed 0: 0.9 (p0); seed 1: 0.8 (p1); seed 2: 0.85 (p2)"
    assert table.loc["best fixed setting of each seed", "mean"] == pytest.approx((0.88 + 0.84 + 0.83) / 3)
    # tau0 2.0 has the better mean over seeds (0.8433 against 0.8333)
    assert table.loc["best fixed setting over seeds (tau0 2)", "detail"] == \
        "seed 0: 0.86 (b0); seed 1: 0.84 (b1); seed 2: 0.83 (b2)"
    per_seed = table.loc["population winner − best fixed setting of each seed"]
    assert per_seed["kind"] == "paired difference" and per_seed["mean"] == pytest.approx(0.0, abs=1e-12)
    single = table.loc["population winner − fixed tau0 2"]
    assert single["mean"] == pytest.approx((0.04 - 0.04 + 0.02) / 3) and single["n"] == 3
    assert single["verdict"] == "not significant at n = 3"


def test_without_a_control_arm_or_seeds_the_comparison_says_what_it_can():
    import pandas as pd

    from harness.analysis.population import population_vs_control

    study = _control_study(seeds=False)
    one = pd.DataFrame([_trial("p", 0, False, 1.5, 0.9), _trial("a", 0, True, 1.0, 0.8),
                        _trial("b", 0, True, 2.0, 0.7)])
    table = population_vs_control(one.drop(columns="seed"), study).set_index("comparison")
    assert table.loc["population winner", "detail"] == "0.9 (p)" and table.loc["population winner", "n"] == 1
    assert table.loc["population winner − fixed tau0 1", "verdict"] == "no test at n = 1"
    assert population_vs_control(one.drop(columns=["seed", "control"]), study).empty


def test_the_curves_carry_a_setting_changed_outside_the_space_epoch_by_epoch(tmp_path):
    """A replay study varies only the seed; the τ0 its schedule changes is a column of curves.csv."""
    from study_folders import trial_id, write_study_folder

    from harness.analysis.results import load_results
    from harness.analysis.tables import curves_table

    folder = write_study_folder(tmp_path)
    trial = folder / f"trial_{trial_id(0)}"  # 3 epochs
    (trial / "config.json").write_text(json.dumps({
        "kind": "search", "config": {"epochs": 3, "seed": 0, "temperature": {"initial": 0.8}},
        "changes": [{"epoch": 2, "settings": {"temperature.initial": [2.0, 0.8]}}]}))
    curves = curves_table(load_results(folder))
    mine = curves[curves["trial_id"] == trial.name.removeprefix("trial_")]
    assert mine["tau0"].tolist() == [2.0, 2.0, 0.8]  # the change took effect after epoch 2
    assert curves[curves["trial_id"] != trial.name.removeprefix("trial_")]["tau0"].isna().all()
    assert mine["seed"].notna().all()


def test_a_population_whose_winner_never_left_its_start_equals_that_fixed_setting():
    """What studies/pbt_temperature.yaml found on digits: every seed's winner was never copied,
    so it ran the same schedule as its control twin; the t-test is undefined, the table says why."""
    import pandas as pd

    from harness.analysis.population import population_vs_control

    trials = pd.DataFrame([_trial(f"{arm}{seed}", seed, arm == "c", 2.0, score) for arm in "pc"
                           for seed, score in enumerate((80.99, 80.48, 81.22))])
    table = population_vs_control(trials, _control_study(seeds=True)).set_index("comparison")
    assert table.loc["population winner − best fixed setting of each seed", "verdict"] == "the same on all 3 seeds"
    assert table.loc["best fixed setting over seeds (tau0 2)", "detail"].startswith("seed 0: 80.99 (c0); seed 1")


def test_the_donors_checkpoint_restored_again_is_the_same_exploit(tmp_path):
    """A resumed (or retried) trial restarts from the donor checkpoint of its last exploit."""
    donors = _checkpoint(tmp_path, "donors", "b", [])
    lineage = Lineage("a", exploits=[{"epoch": 2, "donor": "b"}])
    lineage.continue_from(donors, epoch=2)
    assert lineage.exploits == [{"epoch": 2, "donor": "b"}] and lineage.copies == [{"epoch": 2, "donor": "b"}]
    lineage.continue_from(donors, epoch=3)  # a later copy from the same donor is a new exploit
    assert lineage.exploits == [{"epoch": 2, "donor": "b"}, {"epoch": 3, "donor": "b"}]


def test_a_damaged_donor_checkpoint_fails_the_copying_trial_naming_the_file(tmp_path, monkeypatch):
    """An exploit restores the donor's checkpoint through the same code as a trial's own
    restart: a damaged one fails the trial (its error.txt) with the file named, and no copy
    is recorded."""
    from ray import tune

    from harness import trainables
    from snas.search import Search

    donor = tmp_path / "trial_b" / "checkpoint_000002"
    donor.mkdir(parents=True)
    Lineage("b", []).save(donor)
    (donor / "checkpoint.pt").write_bytes(b"\x00not a checkpoint")
    monkeypatch.setattr(tune, "get_checkpoint", lambda: tune.Checkpoint.from_directory(str(donor)))
    lineage = Lineage("a")
    with pytest.raises(UserInputError, match=re.escape(str(donor / "checkpoint.pt"))):
        trainables._restored(lineage, Search, None)
    assert lineage.copies == [] and lineage.exploits == []
