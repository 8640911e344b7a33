"""Studies of data-parallel trials on Ray Train: 2 search trials × 2 gloo workers under ASHA
on digits, beside a second Ray instance; a retrain trial on 2 workers against the same
retraining on 2 local ranks; and the study-file checks of ``resources.workers``.  Workers
killed and studies interrupted: test_data_parallel_faults."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time

import pandas as pd
import pytest
import torch
from distributed_ranks import comparable, run_of_config, run_ranks
from study_helpers import tiny_study, write_study

from harness.cli import main
from harness.cluster import API_SERVER_ENV
from harness.dataparallel import concurrent_trials
from harness.study import ResourcesConfig, validate_study
from snas.errors import UserInputError


def _dp_study(root, **changes):
    return tiny_study("dp", root / "results", **{
        "kind": "search",
        "data": {"dataset": "digits", "split": {"train_size": 256, "val_size": 128}},
        "search": {"epochs": 2, "batch_size": 64, "layers": 3, "init_channels": 4},
        "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 2},
        "searcher": {"grid_order": "listed"},
        "resources": {"workers": 2, "cpu": 1},
        **changes,
    })


def on_local_ranks(study: dict, trial_config: dict, out) -> list[dict]:
    """The trial ``trial_config`` of ``study`` run on 2 local gloo ranks instead of Ray Train:
    each rank's history, weights and genotype (distributed_ranks.run_of_config)."""
    spec = validate_study(study)
    out.mkdir(parents=True)
    config = spec.trial_config_of(trial_config).model_dump(mode="json", by_alias=True)
    (out / "config.json").write_text(json.dumps({"kind": spec.kind, "config": config}))
    return run_ranks(run_of_config, out)


def _train_leftovers() -> tuple[list[str], list[str]]:
    """Placement groups not removed, and Ray Train actors alive (ray.util.state)."""
    import ray
    from ray.util.state import list_actors, list_placement_groups

    address = ray.get_runtime_context().runtime_env["env_vars"][API_SERVER_ENV]  # this instance's, not another's
    groups = [pg.placement_group_id for pg in list_placement_groups(address, limit=1000) if pg.state != "REMOVED"]
    alive = [a.class_name for a in list_actors(address, filters=[("state", "=", "ALIVE")], limit=1000)]
    return groups, [name for name in alive if any(word in name for word in ("Train", "Worker", "PlacementGroup"))]


def _left_behind_once_cleaned(patience_s: float = 30) -> tuple[list[str], list[str]]:
    """What the study left behind once Ray Train's cleaner has had its chance: Tune kills a
    stopped trial's controller, whose placement group the cleaner removes (polling each second)."""
    deadline = time.monotonic() + patience_s
    while (left := _train_leftovers()) != ([], []) and time.monotonic() < deadline:
        time.sleep(1)
    return left


_SECOND_RAY = """
import sys, ray
ray.init(num_cpus=1, include_dashboard=False, _temp_dir=sys.argv[1], log_to_driver=False)
print("up", flush=True)
sys.stdin.read()  # until the test closes our stdin
ray.shutdown()
"""


@pytest.fixture
def second_ray_instance():
    """Another local Ray instance on this machine for the test's duration (as beside another
    study, or a test on another xdist worker): Ray's state API clients in the workers must
    still find the study's own instance (harness.cluster.local_ray_options)."""
    temp_dir = tempfile.mkdtemp(prefix="r2", dir="/tmp")
    process = subprocess.Popen([sys.executable, "-c", _SECOND_RAY, temp_dir], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "up\n"
        yield
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow
def test_two_trials_on_two_workers_each_under_asha(ray_local, second_ray_instance, tmp_path):
    """Half a CPU per worker: both trials' worker groups fit the 2 CPUs at once, so their Train
    runs start side by side (each start costs 15-25 s of Ray processes starting)."""
    study = _dp_study(tmp_path, resources={"workers": 2, "cpu": 0.5})
    code = main(["run", str(write_study(tmp_path / "dp.yaml", study)), "--quiet"])
    assert code == 0
    folder = tmp_path / "results" / "dp"
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert len(trials) == 2 and set(trials["state"]) == {"TERMINATED"}
    assert not trials["damaged"].any()  # Train's checkpoint_manager_snapshot.json is not a checkpoint folder
    for trial_dir in folder.glob("trial_*"):
        epochs = [json.loads(line)["epoch"] for line in (trial_dir / "metrics.jsonl").read_text().splitlines()]
        assert epochs in ([1], [1, 2])
        assert (trial_dir / "genotype.json").is_file()
        checkpoints = sorted(trial_dir.glob("checkpoint_*/checkpoint.pt"))
        assert checkpoints
        state = torch.load(checkpoints[-1], weights_only=True)["state"]
        assert len(state["generators"]["ranks"]) == 2  # every rank's streams, written by rank 0
    stopped = trials[trials["stopped_early"]]
    assert (stopped["epochs"] == 1).all()
    assert _left_behind_once_cleaned() == ([], [])


def test_worker_groups_that_fit_the_cluster():
    assert concurrent_trials(ResourcesConfig(workers=2, cpu=1), {"CPU": 2}) == 1
    assert concurrent_trials(ResourcesConfig(workers=8, cpu=4, gpu=1), {"CPU": 64, "GPU": 16}) == 2
    assert concurrent_trials(ResourcesConfig(workers=4, cpu=1), {"CPU": 2}) == 1  # never 0


@pytest.mark.parametrize(("changes", "message"), [
    ({"search": {"method": "darts", "second_order": True}}, "second_order"),
    ({"search": {"batch_size": 63}}, "multiple of 2"),
    ({"search": {"sync_batchnorm": True}}, "sync_batchnorm needs GPU workers"),
    ({"space": {"search.sync_batchnorm": {"choice": [False, True]}}}, "sync_batchnorm needs GPU workers"),
    ({"search": {"sync_batchnorm": True, "device": "cpu"}, "resources": {"workers": 2, "cpu": 1, "gpu": 1}},
     r"search.device cpu\); there each of the 2 workers"),
    ({"space": {"search.batch_size": {"choice": [64, 33]}}}, "33 is the global batch"),
    ({"kind": "retrain", "genotypes": {"g": "DARTS_V2"},
      "retrain": {"settings": {"genotype": "g", "epochs": 1, "batch_size": 63}}},
     "retrain.settings.batch_size 63 is the global batch"),
])
def test_study_refuses_what_several_workers_cannot_do(tmp_path, changes, message):
    study = _dp_study(tmp_path, **changes)
    if study["kind"] == "retrain":
        del study["search"]  # a retrain study reads none
    with pytest.raises(UserInputError, match=message):
        validate_study(study)


def _retrain_study(root, **retrain_settings):
    study = _dp_study(root, kind="retrain", genotypes={"g": "DARTS_V2"}, space={}, scheduler={"name": "fifo"},
                      retrain={"settings": {"genotype": "g", "layers": 3, "init_channels": 4, "epochs": 2,
                                            "batch_size": 64, "drop_path": 0.2, "auxiliary": False,
                                            "device": "cpu", **retrain_settings}})
    del study["search"]  # a retrain study reads none
    return study


@pytest.mark.slow
def test_a_retrain_trial_on_two_ray_workers_equals_the_same_retraining_on_two_local_ranks(ray_local, tmp_path):
    study = _retrain_study(tmp_path)
    assert main(["run", str(write_study(tmp_path / "retrain.yaml", study)), "--quiet"]) == 0
    (trial,) = (tmp_path / "results" / "dp").glob("trial_*")
    ray_history = comparable([json.loads(line) for line in (trial / "metrics.jsonl").read_text().splitlines()])
    assert [h["epoch"] for h in ray_history] == [1, 2] and all(h["test_acc"] > 0 for h in ray_history)
    assert json.loads((trial / "genotype.json").read_text())["normal"]  # the given genotype, written by rank 0
    last = torch.load(sorted(trial.glob("checkpoint_*/checkpoint.pt"))[-1], weights_only=True)
    assert last["epoch"] == 2
    state = last["state"]
    assert len(state["generators"]["ranks"]) == 2  # both ranks' drop-path streams

    ranks = on_local_ranks(study, {}, tmp_path / "local")
    assert ranks[0]["history"] == ranks[1]["history"] == ray_history  # the same math, bit for bit
    assert state["model"].keys() == ranks[0]["weights"].keys()
    assert all(torch.equal(state["model"][k], v) for k, v in ranks[0]["weights"].items())


def test_a_study_check_across_sections_is_one_line_naming_its_keys(tmp_path, capsys):
    path = write_study(tmp_path / "dp.yaml", _dp_study(tmp_path, search={"batch_size": 63}))
    assert main(["run", str(path)]) == 2
    assert capsys.readouterr().err == (f"snas-study: error: invalid study {path}: search.batch_size 63 is the global "
                                       f"batch: split across 2 workers it must be a multiple of 2\n")
    assert not (tmp_path / "results").exists()
