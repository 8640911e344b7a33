"""Study files: validation before Ray starts, overrides, and the Tune search space."""

import re
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from ray import tune
from ray.tune.search.sample import Categorical, Float, Integer, LogUniform
from ray.tune.search.variant_generator import _get_preset_variants, generate_variants

from harness.cli import main
from harness.study import Study, load_study, validate_study
from harness.tuner import objective_of, trial_plan
from snas.errors import UserInputError

BASE = {
    "name": "unit",
    "data": {"dataset": "synthetic", "synthetic": {"classes": 4, "image_size": 8, "train_images": 128,
                                                   "test_images": 64}},
    "search": {"layers": 3, "init_channels": 4, "epochs": 3, "batch_size": 32, "device": "cpu"},
    "space": {"search.temperature.initial": {"grid": [0.5, 2.0]}},
}
PBT = {"name": "pbt", "perturbation_interval": 2, "mutations": {"search.temperature.initial": {"uniform": [0.3, 4.0]}}}


def study(**changes):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data.update(changes)
    return data


def study_file(tmp_path, **changes):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(study(**changes)))
    return path


def previous_results(tmp_path, name):
    """``results/unit`` holding one file, as an earlier run (or the user) left it."""
    folder = tmp_path / "results" / "unit"
    folder.mkdir(parents=True)
    (folder / name).write_text("kept\n")
    return folder / name


@pytest.mark.parametrize("changes, message", [
    ({"nmae": "x"}, "nmae: unknown key"),
    ({"name": "has space"}, "name: String should match pattern"),
    ({"search": {"epochs": "many"}}, "search.epochs: Input should be a valid integer"),
    ({"search": {"temperature": {"initial": 1.0, "min": 2.0}}}, "search.temperature: min (2.0) must not exceed"),
    ({"space": {"search.temperature.initial": {"grid": [0.5, -1.0]}}},
     "trial settings (search.temperature.initial=-1.0): search.temperature.initial: Input should be greater than 0"),
    ({"space": {"search.temperature.initial": {"uniform": [0.1, 2.0]}, "search.temperature.min": {"grid": [0.5]}}},
     "searcher grid tries grid entries only; search.temperature.initial are sampled"),
    ({"searcher": {"name": "optuna"}}, "Ray's Optuna searcher does not support grid entries"),
    ({"space": {"search.temperature.initial": {"grid": [1.0], "choice": [2.0]}}}, "give exactly one of"),
    ({"space": {"search.temperature.initial": {"uniform": [2.0, 1.0]}}, "searcher": {"name": "random"}},
     "uniform needs low < high"),
    ({"space": {"search.temperature.initial": {"loguniform": [0.0, 1.0]}}, "searcher": {"name": "random"}},
     "loguniform needs low > 0"),
    ({"space": {"temperature.initial": {"grid": [1.0]}}}, "space key 'temperature.initial' must start with"),
    ({"space": {"search.temperatur.initial": {"grid": [1.0]}}}, "search.temperatur: unknown key"),
    ({"searcher": {"points_to_evaluate": [{"search.seed": 3}]}}, "points_to_evaluate uses keys not in space"),
    ({"space": {"search.seed": {"grid": [0, 1]}}, "searcher": {"points_to_evaluate": [{"search.seed": 3}]}},
     "set searcher.grid_order: listed"),
    ({"objective": {"metric": "genotype"}}, "objective.metric 'genotype' is not a number; choose from epoch,"),
    ({"objective": {"metric": "test_acc"}},
     "objective.metric 'test_acc' is reported by retrain trials, not by this search study's; choose from"),
    ({"objective": {"metric": "serch_val_acc"}},
     "objective.metric 'serch_val_acc' is no metric the trials report; did you mean search_val_acc?"),
    ({"scheduler": {"name": "asha", "reduction_factor": 1}}, "scheduler.reduction_factor: Input should be greater"),
    ({"resources": {"cpu": 0}}, "resources.cpu: Input should be greater than 0"),
    ({"storage": {"path": "ftp://host/studies"}}, "storage.path: 'ftp://host/studies': Ray Tune cannot store"),
    ({"data": {"dataset": "imagenet21k"}}, "data.dataset: unknown data set"),
    ({"scheduler": {**PBT, "name": "pb2", "mutations": {"search.temperature.initial": {"grid": [0.5, 2.0]}}}},
     "scheduler.mutations.search.temperature.initial: PB2 explores a range of numbers; give uniform or loguniform "
     "[low, high], not grid"),
    ({"scheduler": {**PBT, "quantile_fraction": 0.6}}, "scheduler.quantile_fraction: Input should be less than"),
    ({"scheduler": {**PBT, "resample_probability": 1.5}}, "scheduler.resample_probability: Input should be less"),
    ({"scheduler": {**PBT, "name": "pb2", "resample_probability": 0.5}},
     "scheduler.resample_probability: read by PBT only, and scheduler.name is pb2"),
    ({"scheduler": {"name": "replay", "schedule": [{"epoch": 1, "settings": {"search.init_channels": 8}}]}},
     "scheduler.schedule[0].settings.search.init_channels: cannot change during a trial; a replay may change only "
     "search.temperature.initial, "),
    ({"scheduler": {"name": "replay", "schedule": [{"epoch": 1, "settings": {"search.temperature.initial": 3.0}}]}},
     "scheduler.schedule[0].settings.search.temperature.initial: the space varies it too; drop it from space"),
    ({"scheduler": {"name": "replay", "schedule": [{"epoch": 2, "settings": {"search.arch.lr": 1e-4}},
                                                   {"epoch": 1, "settings": {"search.arch.lr": 3e-4}}]}},
     "scheduler.schedule: the epochs [2, 1] are not increasing"),
])
def test_bad_studies_name_the_key(changes, message):
    with pytest.raises(UserInputError, match=None) as err:
        validate_study(study(**changes))
    assert message in str(err.value)


def test_overrides_apply_to_settings_and_space(tmp_path):
    path = study_file(tmp_path)
    s = load_study(path, ["search.epochs=5", "space.search.temperature.initial.grid=[1.0, 2.0, 4.0]",
                          "space.search.seed={grid: [0, 1]}", "searcher.num_samples=2"])
    assert s.epochs == 5
    assert s.space["search.temperature.initial"].grid == [1.0, 2.0, 4.0]
    assert s.expected_trials() == 3 * 2 * 2
    assert s.trial_config_of({"search.temperature.initial": 4.0, "search.seed": 1}).temperature.initial == 4.0


def test_resolved_study_writes_out_every_default():
    s = validate_study(study()).resolved()
    assert s.search["weights"]["lr"] == 0.025
    assert s.search["temperature"]["min"] == 0.03
    assert s.search["drop_path"] == 0.3  # the snas method default
    assert "data" not in s.search


def test_a_varied_method_keeps_each_methods_own_defaults_through_the_frozen_study():
    """Written out for the base method (SNAS), τ and the α optimiser would reach every trial."""
    s = validate_study(study(space={"search.method": {"grid": ["snas", "gdas", "darts"]}})).resolved()
    assert s.search["weights"]["lr"] == 0.025  # the same for every method: written out
    assert "method" not in s.search and "initial" not in s.search.get("temperature", {})
    assert "name" not in s.search.get("arch", {}) and "drop_path" not in s.search
    frozen = Study.model_validate(s.model_dump(mode="json", by_alias=True))
    gdas, snas = (frozen.trial_config_of({"search.method": m}) for m in ("gdas", "snas"))
    assert (gdas.temperature.initial, gdas.temperature.min, gdas.arch.name, gdas.drop_path) == (10.0, 0.1, "adam", 0.0)
    assert (snas.temperature.initial, snas.arch.name, snas.arch.grad_clip, snas.drop_path) == (1.0, "sgd", 10.0, 0.3)


def test_space_translates_to_tune_domains():
    s = validate_study(study(space={
        "search.temperature.initial": {"grid": [0.5, 1.0]},
        "search.resource.method": {"choice": ["discrete", "reparametrization"]},
        "search.temperature.anneal_rate": {"uniform": [0.5, 0.99]},
        "search.resource.lambda": {"loguniform": [1e-5, 1e-2]},
        "search.seed": {"randint": [0, 100]},
    }, searcher={"name": "random", "grid_order": "listed"}))
    space = trial_plan(s).param_space
    assert space["search.temperature.initial"] == tune.grid_search([0.5, 1.0])
    assert isinstance(space["search.resource.method"], Categorical)
    assert space["search.resource.method"].categories == ["discrete", "reparametrization"]
    rate = space["search.temperature.anneal_rate"]
    assert isinstance(rate, Float) and (rate.lower, rate.upper) == (0.5, 0.99)
    lam = space["search.resource.lambda"]
    assert isinstance(lam.get_sampler(), LogUniform) and (lam.lower, lam.upper) == (1e-5, 1e-2)
    seed = space["search.seed"]
    assert isinstance(seed, Integer) and (seed.lower, seed.upper) == (0, 100)


def test_grid_combinations_follow_tunes_order():
    s = validate_study(study(space={"search.temperature.initial": {"grid": [0.5, 1.0]},
                                    "search.temperature.anneal_rate": {"grid": [0.5, 0.7, 0.9]}}))
    listed = [(c["search.temperature.initial"], c["search.temperature.anneal_rate"]) for c in s.grid_combinations()]
    assert listed == [(0.5, 0.5), (0.5, 0.7), (0.5, 0.9), (1.0, 0.5), (1.0, 0.7), (1.0, 0.9)]
    plan = trial_plan(s.model_copy(update={"searcher": s.searcher.model_copy(update={"grid_order": "listed"})}))
    tune_order = [config for _, config in generate_variants(plan.param_space)]
    assert tune_order == s.grid_combinations()


def test_shuffled_grid_starts_every_combination_num_samples_times_in_a_seeded_order():
    space = {"search.temperature.initial": {"grid": [0.5, 1.0, 2.0, 4.0]},
             "search.temperature.anneal_rate": {"grid": [0.5, 0.7, 0.9]},
             "search.weights.lr": {"uniform": [0.01, 0.1]}}
    plans = [trial_plan(validate_study(study(space=space, searcher={"name": "random", "seed": seed, "num_samples": 2})))
             for seed in (0, 0, 1)]
    first, again, other_seed = plans
    assert first.points == again.points
    assert first.points != other_seed.points
    assert first.num_samples == len(first.points) == 24
    combos = validate_study(study(space=space, searcher={"name": "random"})).grid_combinations()
    assert sorted(map(_items, first.points)) == sorted(map(_items, combos * 2))
    assert first.points[:12] != combos  # not the listed order
    assert isinstance(first.param_space["search.weights.lr"], Float)  # still drawn per trial
    draws = np.random.RandomState(0)  # what Tune does with each point: fill in the sampled entries
    variants = [spec["config"] for point in first.points
                for _, spec in _get_preset_variants({"config": first.param_space}, point, random_state=draws)]
    assert [{k: v for k, v in c.items() if k != "search.weights.lr"} for c in variants] == first.points
    assert len({c["search.weights.lr"] for c in variants}) == 24


def _items(point: dict) -> tuple:
    return tuple(sorted(point.items()))


def test_a_space_without_grid_entries_is_left_to_tune():
    s = validate_study(study(space={"search.weights.lr": {"uniform": [0.01, 0.1]}},
                             searcher={"name": "random", "num_samples": 5}))
    plan = trial_plan(s)
    assert (plan.points, plan.num_samples, list(plan.param_space)) == ([], 5, ["search.weights.lr"])


def test_run_rejects_a_bad_study_before_starting_ray(tmp_path, capsys):
    import ray

    path = study_file(tmp_path, search={"epochs": 0})
    assert main(["run", str(path)]) == 2
    assert "search.epochs: Input should be greater than or equal to 1" in capsys.readouterr().err
    assert not ray.is_initialized()


@pytest.mark.parametrize("where, message", [
    ("notes.txt", "it is a file, not a folder"),
    ("notes.txt/results", "cannot create the results folder"),
])
def test_run_refuses_a_results_folder_it_cannot_create_before_starting_ray(tmp_path, capsys, where, message):
    import ray

    (tmp_path / "notes.txt").write_text("mine\n")
    path = study_file(tmp_path, storage={"path": str(tmp_path / where)})
    assert main(["run", str(path)]) == 2
    assert message in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine\n"
    assert not ray.is_initialized()


def test_run_refuses_to_overwrite_an_existing_study(tmp_path, capsys):
    path = study_file(tmp_path, storage={"path": str(tmp_path / "results")})
    kept = previous_results(tmp_path, "study.yaml")
    (kept.parent / "tuner.pkl").write_bytes(b"Tune began here")
    assert main(["run", str(path)]) == 2
    assert "already holds a study named 'unit'" in capsys.readouterr().err
    assert kept.read_text() == "kept\n"


def test_run_refuses_absent_data_before_ray_and_keeps_the_old_study(tmp_path, capsys):
    """Even with --overwrite: the check comes before anything is removed."""
    data = {"dataset": "cifar10", "root": str(tmp_path / "data")}
    path = study_file(tmp_path, data=data, storage={"path": str(tmp_path / "results")})
    kept = previous_results(tmp_path, "study.yaml")
    assert main(["run", str(path), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"snas-study: error: CIFAR-10 not found (or incomplete) at {tmp_path / 'data'}")
    assert err.count("\n") == 1
    assert kept.read_text() == "kept\n"


def test_run_checks_the_data_of_every_varied_root(tmp_path, capsys):
    (tmp_path / "a" / "cifar-10-batches-py").mkdir(parents=True)
    path = study_file(tmp_path, data={"dataset": "cifar10"}, storage={"path": str(tmp_path / "results")},
                      space={"data.root": {"grid": [str(tmp_path / "a"), str(tmp_path / "b")]}})
    assert main(["run", str(path)]) == 2
    assert f"CIFAR-10 not found (or incomplete) at {tmp_path / 'b' / 'cifar-10-batches-py'}" \
        in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("path", sorted(__import__("pathlib").Path("studies").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_studies_are_valid(path):
    s = load_study(path)
    assert s.expected_trials() >= (2 if s.resources.workers > 1 else 6)  # a data-parallel study: 8 GPUs a trial
    assert s.name == path.stem


def test_overwrite_leaves_a_folder_that_is_not_a_study_alone(tmp_path, capsys):
    path = study_file(tmp_path, storage={"path": str(tmp_path / "results")})
    kept = previous_results(tmp_path, "notes.txt")
    assert main(["run", str(path), "--overwrite"]) == 2
    assert "exists but is not a study folder (no study.yaml); it is left alone" in capsys.readouterr().err
    assert kept.read_text() == "kept\n"


def test_a_base_value_the_space_replaces_must_still_be_valid(tmp_path, capsys):
    path = study_file(tmp_path, search={"temperature": {"initial": -1.0}},
                      space={"search.temperature.initial": {"grid": [1.0, 2.0]}})
    assert main(["run", str(path)]) == 2
    assert capsys.readouterr().err == ("snas-study: error: invalid search settings: "
                                       "search.temperature.initial: Input should be greater than 0\n")


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe\x00bad", "is not a text file (not UTF-8)"),
    (None, "is a folder; give a YAML file"),
])
def test_a_study_file_that_is_binary_or_a_folder_is_refused(tmp_path, capsys, content, message):
    path = tmp_path / "s.yaml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    assert main(["run", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_a_set_value_that_is_not_yaml_is_refused(tmp_path, capsys):
    path = study_file(tmp_path)
    assert main(["run", str(path), "--set", "space.search.epochs={grid: [1"]) == 2
    assert "--set space.search.epochs={grid: [1: the value is not valid YAML" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["analyze", "{folder}", "--metric", "foo"], "--metric 'foo' is no metric the trials report; choose from epoch,"),
    (["status", "{folder}", "--metric", ""], "--metric '' is no metric the trials report; choose from epoch,"),
    (["best", "{folder}", "--top", "0"], "argument --top: must be at least 1, got 0"),
    (["report", "{folder}", "--top", "-1"], "argument --top: must be at least 1, got -1"),
    (["status", "{folder}/study.yaml"], "is a file; give the study folder"),
])
def test_analysis_commands_refuse_bad_flags_before_writing(tmp_path, capsys, argv, message):
    folder = tmp_path / "unit"
    folder.mkdir()
    (folder / "study.yaml").write_text(yaml.safe_dump(study()))
    argv = [a.format(folder=folder) for a in argv]
    if "argument" in message:  # argparse's own usage error
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    else:
        assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["study.yaml"]


def test_retrain_settings_of_a_search_study_are_checked_before_the_search(tmp_path, capsys):
    path = study_file(tmp_path, retrain={"settings": {"layers": 5, "epocs": 3}})
    assert main(["run", str(path)]) == 2
    assert capsys.readouterr().err == (
        "snas-study: error: invalid retrain settings: retrain.settings.epocs: unknown key; "
        "did you mean retrain.settings.epochs?\n")


@pytest.mark.parametrize("changes", [
    {"search": {"device": "cuda"}},
    {"space": {"search.device": {"grid": ["cpu", "cuda:0"]}}},
])
def test_a_cuda_device_without_a_gpu_per_trial_is_refused(tmp_path, capsys, changes):
    path = study_file(tmp_path, **changes)
    assert main(["run", str(path)]) == 2
    assert "search.device asks for cuda but resources.gpu is 0" in capsys.readouterr().err


def test_a_retrain_study_reads_genotype_files_once_at_the_edge(tmp_path):
    """The config validates mappings only; the study reads the files its genotypes name."""
    from study_helpers import tiny_study

    from harness.study import validate_study
    from snas.catalogue import CATALOGUE

    searched = tmp_path / "genotype.json"
    searched.write_text(CATALOGUE["SNAS_mild"].genotype.to_json())
    study = tiny_study("files", tmp_path, kind="retrain", genotypes={"mine": str(searched)},
                       retrain={"settings": {"genotype": "mine", "layers": 5, "init_channels": 4, "epochs": 1,
                                             "auxiliary": False, "device": "cpu"}},
                       space={"retrain.settings.seed": {"grid": [0]}})
    spec = validate_study(study)
    assert spec.genotypes["mine"] == CATALOGUE["SNAS_mild"].genotype.to_dict()
    assert spec.trial_config_of({}).resolved_genotype == CATALOGUE["SNAS_mild"].genotype
    settings = {**study["retrain"]["settings"], "genotype": str(searched)}
    direct = validate_study({**study, "genotypes": {}, "retrain": {"settings": settings}})
    assert direct.retrain.settings["genotype"] == CATALOGUE["SNAS_mild"].genotype.to_dict()  # read once, here
    searched.unlink()
    assert direct.trial_config_of({}).resolved_genotype == CATALOGUE["SNAS_mild"].genotype


@pytest.mark.parametrize("domain, value, problem", [
    ({"grid": [0, 1]}, 1, None),
    ({"grid": [0.5, 1.0]}, 1, None),  # a whole number is the float it equals
    ({"grid": [0, 1]}, True, "True is not one of the grid values [0, 1]"),  # YAML's true is no seed
    ({"choice": ["snas", "gdas"]}, "darts", "'darts' is not one of the choice values ['snas', 'gdas']"),
    ({"uniform": [0.5, 2.0]}, 2.0, None),
    ({"uniform": [0.5, 2.0]}, 2.5, "2.5 is not a number in uniform [0.5, 2.0]"),
    ({"loguniform": [1e-4, 1e-2]}, "1e-3", "'1e-3' is not a number in loguniform [0.0001, 0.01]"),
    ({"randint": [0, 4]}, 3, None),
    ({"randint": [0, 4]}, 4, "4 is not a whole number in randint [0, 4)"),
    ({"randint": [0, 4]}, 1.5, "1.5 is not a whole number in randint [0, 4)"),
])
def test_a_point_to_evaluate_must_be_a_value_its_domain_can_produce(domain, value, problem):
    from harness.study import Domain

    assert Domain.model_validate(domain).problem_with(value) == problem


@pytest.mark.parametrize("path", sorted(__import__("pathlib").Path("studies").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_frozen_study_reads_back_as_written(path, tmp_path):
    """``run`` freezes the resolved study into study.yaml; ``status``, ``analyze`` and
    ``resume`` must read exactly that study back (a value YAML cannot carry would make the
    tool refuse its own folder)."""
    from harness.studyfolder import frozen_study_text, read_study

    frozen = load_study(path).resolved()
    folder = tmp_path / frozen.name
    folder.mkdir()
    (folder / "study.yaml").write_text(frozen_study_text(frozen))
    assert read_study(str(folder)) == frozen


def test_yaml_files_refuse_a_key_given_twice_but_keep_merge_keys():
    from harness.arguments import load_yaml

    with pytest.raises(yaml.YAMLError, match=r"duplicate key 'epochs' \(first given on line 2\)"):
        load_yaml("search:\n  epochs: 2\n  epochs: 3\n")
    with pytest.raises(yaml.YAMLError, match="duplicate key 'search'"):
        load_yaml("search: {}\nname: x\nsearch: {}\n")
    assert load_yaml("base: &b {epochs: 1, layers: 5}\nsearch:\n  <<: *b\n  epochs: 2\n")["search"] == \
        {"epochs": 2, "layers": 5}


def test_a_huge_study_needs_confirmation_and_the_count_is_not_listed(tmp_path):
    from harness.study import MANY_TRIALS, check_trial_count

    huge = validate_study(study(space={"search.temperature.initial": {"grid": [0.5 + i for i in range(1000)]},
                                       "search.seed": {"grid": list(range(1000))}}))
    assert huge.expected_trials() == 1_000_000
    with pytest.raises(UserInputError, match="1,000,000 trials"):
        check_trial_count(huge, allowed=False)
    check_trial_count(huge, allowed=True)
    assert validate_study(study()).expected_trials() == 2 <= MANY_TRIALS


@pytest.mark.parametrize("changes, checkpoint_every, keep_checkpoints", [
    ({}, 2, 3),  # every perturbation's checkpoint, and every one kept: ceil(3 / 2) + 1
    ({"checkpoint_every": 1}, 1, 4),
    ({"checkpoint_every": 1, "keep_checkpoints": 2}, 1, 2),  # the user's choice (Tune warns)
])
def test_a_pbt_study_checkpoints_at_every_perturbation_and_keeps_them(changes, checkpoint_every, keep_checkpoints):
    pbt = validate_study(study(scheduler=PBT, **changes))
    assert (pbt.checkpoint_every, pbt.keep_checkpoints) == (checkpoint_every, keep_checkpoints)
    frozen = validate_study(pbt.resolved().model_dump(mode="json", by_alias=True), frozen=True)
    assert (frozen.checkpoint_every, frozen.keep_checkpoints) == (checkpoint_every, keep_checkpoints)
    asha = validate_study(study())
    assert (asha.checkpoint_every, asha.keep_checkpoints) == (1, 2)  # other schedulers: the defaults, as before


def test_pbt_builds_tunes_scheduler_with_the_mutations_kept_in_range():
    from harness.policies.pbt import within_ranges
    from harness.population_tune import StudyPBT

    pbt = validate_study(study(scheduler={**PBT, "mutations": {
        "search.temperature.initial": {"uniform": [0.3, 4.0]}, "search.temperature.anneal_rate": {"grid": [0.5, 0.9]}},
        "synch": True}, space={"search.temperature.initial": {"grid": [0.5, 2.0]},
                               "search.temperature.anneal_rate": {"grid": [0.5, 0.9]}}))
    built = pbt.scheduler.build(pbt.epochs, data_parallel=False, objective=objective_of(pbt))
    assert isinstance(built, StudyPBT) and built.last_epoch == 3 and built._synch
    assert built._hyperparam_mutations["search.temperature.anneal_rate"] == [0.5, 0.9]
    assert isinstance(built._hyperparam_mutations["search.temperature.initial"], Float)
    # 4.0 × 1.2 leaves the domain: clipped to its top; a value inside stays as it is
    assert built._custom_explore_fn({"search.temperature.initial": 4.8, "search.temperature.anneal_rate": 0.9}) == {
        "search.temperature.initial": 4.0, "search.temperature.anneal_rate": 0.9}
    assert within_ranges({"x": (1, 9)}, {"x": 0, "y": 20}) == {"x": 1, "y": 20}


class _RestoredTrial:
    """What Tune's PBT reads of a trial when it is added: its config, checkpoint settings,
    status and the checkpoint it resumes from (``epoch`` None: it has none)."""

    def __init__(self, epoch: int | None, score: float = 0.5):
        self.config = {"search.temperature.initial": 1.0}
        self.trial_id = f"a1b2c_{id(self):05d}"
        self.evaluated_params: dict = {}
        self.experiment_tag = "0"
        self.status = "PENDING"
        self.run_metadata = SimpleNamespace(checkpoint_manager=SimpleNamespace(
            checkpoint_config=SimpleNamespace(num_to_keep=None)))
        self.latest_checkpoint_result = (None if epoch is None else
                                         SimpleNamespace(metrics={"epoch": epoch, "search_val_acc": score}))

    def is_finished(self) -> bool:
        return self.status in ("TERMINATED", "ERROR")

    def set_status(self, status: str) -> None:
        self.status = status


class _Controller(SimpleNamespace):
    """Tune's controller as a scheduler sees it: the trials, and the status changes it may
    make on trials already queued (recorded in ``changed``)."""

    def __init__(self, trials):
        super().__init__(search_alg=None, get_trials=lambda: trials, get_live_trials=lambda: trials, changed=[])

    def _set_trial_status(self, trial, status):
        self.changed.append((trial, status))
        trial.set_status(status)


@pytest.mark.parametrize(("interval", "restored", "next_perturbation", "runs_first", "held"), [
    (1, [3, 3], 4, 0, []),      # perturbed at 3 and cut short: both go on to 4
    (2, [4, 2], 4, 1, [0]),     # one waits at 4 for the other, which restarts at 2
    (1, [2, 1], 2, 1, [0]),     # the same, the waiting one restored first (CI's hang, 2026-12-06)
    (1, [1, 2], 2, 0, [1]),     # ... and restored last
    (2, [None, 3], 2, 0, [1]),  # one never saved a checkpoint: it starts over, due at 2
])
def test_a_resumed_synchronous_population_perturbs_at_the_next_time_a_trial_has_to_reach(
        interval, restored, next_perturbation, runs_first, held):
    """Tune restores no scheduler state: without seeding, PBT would put the next perturbation
    at the restored epoch itself, run nothing and hang.  And Tune starts every restored
    (PENDING) trial: one already at the next perturbation must wait there, PAUSED, as it did
    when the study stopped; trained on, it was copied from a later epoch and the population
    ended with every trial past the next perturbation and nothing to run (a hang)."""
    pbt = validate_study(study(scheduler={**PBT, "synch": True, "perturbation_interval": interval}))
    built = pbt.scheduler.build(6, data_parallel=False, objective=objective_of(pbt))
    built.set_search_properties("search_val_acc", "max")
    trials = [_RestoredTrial(epoch, score) for epoch, score in zip(restored, (0.25, 0.75))]
    controller = _Controller(trials)
    for trial in trials:
        built.on_trial_add(controller, trial)
    assert built._next_perturbation_sync == next_perturbation
    assert [i for i, t in enumerate(trials) if t.status == "PAUSED"] == held
    # a trial already queued is paused through the controller, the one being added directly
    assert [trials.index(t) for t, _ in controller.changed] == [i for i in held if i < len(trials) - 1]
    assert built.choose_trial_to_run(controller) is trials[runs_first]
    for trial, epoch, score in zip(trials, restored, (0.25, 0.75)):
        state = built._trial_state[trial]
        assert state.last_train_time == (epoch or 0)
        assert state.last_score == (None if epoch is None else score)
        assert state.last_perturbation_time == (0 if epoch is None else epoch // interval * interval)


def test_a_fresh_population_starts_with_tunes_own_schedule():
    pbt = validate_study(study(scheduler={**PBT, "synch": True, "perturbation_interval": 2}))
    built = pbt.scheduler.build(6, data_parallel=False, objective=objective_of(pbt))
    built.set_search_properties("search_val_acc", "max")
    trials = [_RestoredTrial(None), _RestoredTrial(None)]
    for trial in trials:
        built.on_trial_add(SimpleNamespace(search_alg=None, get_trials=lambda: trials), trial)
    assert built._next_perturbation_sync == 2
    assert all(built._trial_state[t].last_train_time == 0 for t in trials)


def _population_trials(seeds, control):
    trials = []
    for seed in seeds:
        for index in range(4):
            trial = _RestoredTrial(None)
            trial.config.update({"search.seed": seed, "population.control": False})
            trial.name = f"s{seed}-{index}"
            trials.append(trial)
        if control:
            trial = _RestoredTrial(None)
            trial.config.update({"search.seed": seed, "population.control": True})
            trial.name = f"s{seed}-control"
            trials.append(trial)
    return trials


def test_each_seed_runs_its_own_population_and_control_trials_stay_out(monkeypatch):
    from ray.tune.schedulers import PopulationBasedTraining

    pbt = validate_study(study(scheduler={**PBT, "synch": True}, space={
        "search.temperature.initial": {"grid": [0.3, 0.6, 1.2, 2.4]}, "search.seed": {"grid": [0, 1]},
        "population.control": {"grid": [False, True]}}))
    built = pbt.scheduler.build(6, data_parallel=False, objective=objective_of(pbt))
    built.set_search_properties("search_val_acc", "max")
    trials = _population_trials([0, 1], control=True)
    controller = SimpleNamespace(search_alg=None, get_trials=lambda: trials, get_live_trials=lambda: trials)
    for trial in trials:
        built.on_trial_add(controller, trial)
    assert sorted(t.name for t in built._trial_state) == [f"s{s}-{i}" for s in (0, 1) for i in range(4)]
    # seed 1's trials all score below seed 0's: pooled, seed 1 would fill the whole bottom
    for trial in trials:
        if trial.name[-1].isdigit():
            built._trial_state[trial].last_score = int(trial.name[-1]) / 10 + (0.5 if trial.name[1] == "0" else 0)
    lower, upper = built._quantiles()
    assert sorted(t.name for t in lower) == ["s0-0", "s1-0"] and sorted(t.name for t in upper) == ["s0-3", "s1-3"]

    seen = []
    monkeypatch.setattr(PopulationBasedTraining, "_checkpoint_or_exploit",
                        lambda self, trial, controller, high, low: seen.append((trial.name, [t.name for t in high])))
    built._checkpoint_or_exploit(trials[5], controller, upper, lower)  # s1-0 copies within seed 1 only
    assert seen == [("s1-0", ["s1-3"])]
    control = trials[4]
    assert built.on_trial_result(controller, control, {"epoch": 2, "search_val_acc": 0.9}) == "CONTINUE"
    assert control not in built._trial_state
    # the population waits at a synchronous perturbation: only a control trial is left to run
    for trial in trials:
        trial.status = "TERMINATED" if trial.name.endswith("control") else "PAUSED"
        if trial in built._trial_state:
            built._trial_state[trial].last_train_time = 2
    trials[9].status = "PENDING"
    assert built.choose_trial_to_run(controller) is trials[9]


class _Decided:
    """A trial as a population decision reads it: its id and config (hashable, as Tune's are)."""

    def __init__(self, trial_id: str):
        self.trial_id, self.config = trial_id, {}


@pytest.mark.parametrize("name", ["pbt", "pb2"])
def test_a_population_decision_draws_from_its_own_seeded_stream(monkeypatch, name):
    """Tune draws a decision's donor, factors and resampled values from the driver's global
    generators, unseeded: two runs of one study copied different donors.  Each decision now
    draws from a stream seeded by the scheduler's seed, the trial's number (not the
    experiment part of its id, new in every run) and the epoch, whatever the global state,
    which it leaves as it found it."""
    import random

    from ray.tune.schedulers import PopulationBasedTraining

    def decide(self, trial, tune_controller, upper_quantile, lower_quantile):
        drawn.append((random.choice(upper_quantile).trial_id, random.random(), float(np.random.uniform())))

    monkeypatch.setattr(PopulationBasedTraining, "_checkpoint_or_exploit", decide)

    def decision(seed, trial_id, epoch, outside):
        pbt = validate_study(study(scheduler={**PBT, "name": name, "synch": True, "seed": seed}))
        built = pbt.scheduler.build(6, data_parallel=False, objective=objective_of(pbt))
        trial, *donors = (_Decided(i) for i in (trial_id, "a_00001", "a_00002", "a_00003"))
        built._trial_state[trial] = SimpleNamespace(last_train_time=epoch)
        random.seed(outside)
        np.random.seed(outside)
        built._checkpoint_or_exploit(trial, None, donors, [trial])
        assert (random.random(), float(np.random.uniform())) == (random.Random(outside).random(),
                                                               float(np.random.RandomState(outside).uniform()))
        return drawn.pop()

    drawn: list = []
    first = decision(0, "3fe01_00000", 4, outside=1)
    assert decision(0, "9ab77_00000", 4, outside=2) == first  # a rerun: another id prefix, another global state
    assert decision(1, "3fe01_00000", 4, outside=1) != first
    assert decision(0, "3fe01_00000", 6, outside=1) != first
    assert decision(0, "3fe01_00004", 4, outside=1) != first
    assert validate_study(study(scheduler={**PBT, "name": name})).scheduler.seed == 0


def test_pb2_builds_tunes_pb2_over_the_mutations_ranges():
    from harness.population_tune import StudyPB2

    pb2 = validate_study(study(scheduler={**PBT, "name": "pb2"}))
    built = pb2.scheduler.build(pb2.epochs, data_parallel=False, objective=objective_of(pb2))
    assert isinstance(built, StudyPB2) and built.last_epoch == 3
    assert built._hyperparam_bounds == {"search.temperature.initial": [0.3, 4.0]}
    assert (pb2.checkpoint_every, pb2.keep_checkpoints) == (2, 3)


def test_pb2_fits_its_gp_without_convergence_warnings_on_the_console(monkeypatch):
    """scikit-learn's warning that a GP length scale reached its bound says nothing to a user;
    any other warning of the explore step still reaches them."""
    import warnings

    from ray.tune.schedulers.pb2 import PB2
    from sklearn.exceptions import ConvergenceWarning

    from harness.population_tune import StudyPB2

    def explore(self, trial, trial_to_clone):
        warnings.warn("length scale close to the bound", ConvergenceWarning, stacklevel=2)
        warnings.warn("something else", UserWarning, stacklevel=2)
        return {"x": 0.5}, {"x": 0.4}

    monkeypatch.setattr(PB2, "_get_new_config", explore)
    pb2 = validate_study(study(scheduler={**PBT, "name": "pb2"}))
    built = pb2.scheduler.build(3, data_parallel=False, objective=objective_of(pb2))
    assert isinstance(built, StudyPB2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert built._get_new_config(None, None) == ({"x": 0.5}, {"x": 0.4})
    assert [type(w.message) for w in caught] == [UserWarning]


@pytest.mark.parametrize("retrain, message", [
    ({"pool": 5}, "pool is what a proxy picks from; set proxy too"),
    ({"proxy": "synflow", "random": 3, "pool": 2}, "proxy 'synflow' picks random = 3 cell(s) out of pool = 2"),
    ({"proxy": "synflow", "pool": 2}, "picks random = 0 cell(s) out of pool = 2; give random >= 1"),
])
def test_a_study_files_proxy_baseline_needs_a_pool_at_least_as_large_as_random(retrain, message):
    with pytest.raises(UserInputError, match=re.escape(message)):
        validate_study(study(retrain=retrain))


@pytest.mark.parametrize("epochs", [[2, 4], [4, 2]])
def test_a_population_is_checked_against_its_longest_trial_whatever_the_grids_order(epochs):
    """PBT perturbs when some trial runs past the interval; the grid's order must not decide."""
    varied = {**BASE["space"], "search.epochs": {"grid": epochs}}
    validate_study(study(scheduler={**PBT, "perturbation_interval": 3}, space=varied, checkpoint_every=1))
    with pytest.raises(UserInputError, match=r"scheduler.perturbation_interval 4 is not below the trials' epochs "
                                             r"\(search.epochs 4, the longest trial's\)"):
        validate_study(study(scheduler={**PBT, "perturbation_interval": 4}, space=varied, checkpoint_every=1))


def test_a_study_folder_is_read_as_it_ran_though_its_schedule_outlasts_its_epochs():
    """Versions before the check of a scheduler's epochs of action wrote such studies; reading
    them (status, analyze, resume) must not refuse what a new study file is refused for."""
    replay = {"name": "replay", "schedule": [{"epoch": 3, "settings": {"search.temperature.anneal_rate": 0.9}}]}
    with pytest.raises(UserInputError, match=r"scheduler.schedule\[0\].epoch 3 is not below the trials' epochs "
                                             r"\(search.epochs 3\): no trial would take that change before it ends; "
                                             r"raise search.epochs above 3"):
        validate_study(study(scheduler=replay))
    written = {**study(scheduler=replay), "search": {**BASE["search"], "epochs": 3}}
    assert validate_study(written, frozen=True).scheduler.schedule[0].epoch == 3
