"""A study folder from elsewhere is opened without running anything it holds."""

from __future__ import annotations

import contextlib
import json
import pickle
from pathlib import Path

import pytest
from study_folders import SESSION, write_study_folder

from harness import studyrun
from harness.analysis.tune_state import read_tune_state
from harness.cli import main
from snas.catalogue import resolve_genotype

_NONJSON_FIELDS = ("results", "extra_arg", "placement_group_factory", "_resources", "_default_placement_group_factory")


def _pickles_in(value, key=""):
    """Every pickle Tune would load from a decoded state value: wrapped fallbacks and hex fields."""
    if isinstance(value, dict):
        if value.get("_type") == "CLOUDPICKLE_FALLBACK":
            yield bytes.fromhex(value["value"])
            return
        for inner_key, inner in value.items():
            yield from _pickles_in(inner, inner_key)
    elif isinstance(value, list):
        for inner in value:
            yield from _pickles_in(inner)
    elif isinstance(value, str) and key in _NONJSON_FIELDS:
        yield bytes.fromhex(value)


def _every_pickle(folder: Path) -> list[bytes]:
    state = json.loads((folder / f"experiment_state-{SESSION}.json").read_text())
    blobs = list(_pickles_in(state["runner_data"]))
    for trial, metadata in state["trial_data"]:
        blobs += [*_pickles_in(json.loads(trial)), *_pickles_in(json.loads(metadata))]
    files = [p for p in folder.rglob("*") if p.suffix in (".pkl", ".pt") or p.name.startswith("basic-variant-state")]
    return blobs + [p.read_bytes() for p in files]


@pytest.fixture
def crafted(tmp_path):
    marker = tmp_path / "payload_ran"
    return write_study_folder(tmp_path / "results", payload=marker), marker


def test_the_crafted_folder_has_a_live_payload_in_every_pickle_ray_writes(crafted):
    folder, marker = crafted
    blobs = _every_pickle(folder)
    assert len(blobs) >= 40  # 8 per trial state, 3 in its metadata, 2 runner fields, 4 folder files, 3 per trial folder
    for blob in blobs:
        pickle.loads(blob)
        assert marker.exists()
        marker.unlink()


def test_rays_own_reader_runs_the_payload(crafted):
    """What `status` did before it read the state itself."""
    from ray.tune import ExperimentAnalysis

    folder, marker = crafted
    with contextlib.suppress(Exception):  # the payload returns a file object where Tune expects its own
        ExperimentAnalysis(str(folder))
    assert marker.exists()


def test_offline_commands_read_a_crafted_folder_without_running_it(crafted, capsys, monkeypatch):
    folder, marker = crafted
    for command in ("status", "analyze", "report", "best"):
        assert main([command, str(folder)]) == 0, command
        out = capsys.readouterr().out
        assert "58c84_00000" in out and "89.99" in out, command  # the winner, from the trial folders
    assert main(["best", str(folder), "--json"]) == 0
    winners = json.loads(capsys.readouterr().out)["trials"]
    assert [w["trial_id"] for w in winners] == ["58c84_00000", "58c84_00001", "58c84_00002"]
    assert [w["config"] for w in winners] == [{"search.seed": 0}, {"search.seed": 1}, {"search.seed": 2}]
    planned = []
    monkeypatch.setattr(studyrun, "start", lambda study, *args, **kwargs: planned.append(study) or 0)
    assert main(["retrain", str(folder), "--top", "2", "--seeds", "2", "--quiet"]) == 0  # up to starting Ray
    assert planned[0].genotypes == {"58c84_00000": resolve_genotype("DARTS_V2").to_dict(),
                                    "58c84_00001": resolve_genotype("DARTS_V1").to_dict()}
    assert not marker.exists()


def test_state_fields_that_are_not_plain_json_are_left_to_the_trial_folder(tmp_path, capsys):
    folder = write_study_folder(tmp_path / "results")
    path = folder / f"experiment_state-{SESSION}.json"
    state = json.loads(path.read_text())
    trial, metadata = state["trial_data"][0]
    trial = json.loads(trial)
    trial["config"] = {"search.seed": {"_type": "CLOUDPICKLE_FALLBACK", "value": "80054e2e"}}
    trial["status"] = {"_type": "CLOUDPICKLE_FALLBACK", "value": "80054e2e"}
    state["trial_data"][0] = [json.dumps(trial), json.dumps({**json.loads(metadata), "num_failures": "2"})]
    path.write_text(json.dumps(state))
    first = read_tune_state(path)[0]
    assert (first.trial_id, first.state, first.dir_name, first.config, first.num_failures) == (
        "58c84_00000", "UNKNOWN", "trial_58c84_00000", None, 0)
    assert main(["best", str(folder), "--json"]) == 0
    winner = json.loads(capsys.readouterr().out)["trials"][0]
    assert winner["trial_id"] == "58c84_00000" and winner["config"] == {"search.seed": 0}  # from params.json
