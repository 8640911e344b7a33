"""Lineage under population-based training: what trials record of the states they copied,
and the settings in force at each epoch read back from ``config.json``."""

from __future__ import annotations

import json

import pytest

from harness.lineage import LINEAGE_FILE, Lineage, earlier_exploits
from harness.trialconfig import parse_resolved_config


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
