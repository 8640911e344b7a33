"""Which trials `retrain` takes from a search study, before anything starts Ray."""

from __future__ import annotations

import json
import logging

import pytest
import yaml
from study_folders import TrialSpec, trial_id, write_study_folder

from harness import studyrun
from harness.cli import main
from snas.catalogue import resolve_genotype
from snas.genotype import genotype_id
from snas.spaces.darts.genotype import Genotype


@pytest.fixture
def planned(monkeypatch):
    """The retrain studies `retrain` would start; none is run."""
    studies = []
    monkeypatch.setattr(studyrun, "start", lambda study, *args, **kwargs: studies.append(study) or 0)
    return studies


UNFINISHED = (TrialSpec(0, (41.5,), state="PENDING", genotype="SNAS_mild"), TrialSpec(1, (52.0, 66.5), state="RUNNING"),
              TrialSpec(2, (30.0,), state="ERROR", genotype="DARTS_V1"))


def test_a_study_with_no_finished_trial_is_refused(tmp_path, capsys, planned):
    folder = write_study_folder(tmp_path / "results", trials=UNFINISHED)
    assert main(["retrain", str(folder), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no trial of crafted" in err and "finished: 3 trials, states 1 ERROR, 1 PENDING, 1 RUNNING" in err
    assert "--include-unfinished" in err and not planned


def test_a_folder_with_no_trials_is_refused(tmp_path, capsys, planned):
    folder = write_study_folder(tmp_path / "results", trials=())
    assert main(["retrain", str(folder), "--quiet"]) == 2
    assert "finished: 0 trials;" in capsys.readouterr().err and not planned
    assert main(["analyze", str(folder)]) == 0  # and the analysis says there is nothing yet
    assert "0 trials (none yet" in capsys.readouterr().out


def test_include_unfinished_names_the_epochs_reached(tmp_path, caplog, planned):
    folder = write_study_folder(tmp_path / "results", trials=UNFINISHED)
    assert main(["retrain", str(folder), "--top", "2", "--seeds", "1", "--include-unfinished", "--quiet"]) == 0
    assert list(planned[0].genotypes) == [trial_id(1), trial_id(0)]  # 66.5, then 41.5
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"retraining unfinished trial(s) (--include-unfinished): {trial_id(1)} (RUNNING, epoch 2 "
                        f"of 3), {trial_id(0)} (PENDING, epoch 1 of 3)"]


def test_only_finished_trials_are_candidates(tmp_path, caplog, planned):
    trials = (TrialSpec(0, (41.5, 70.25, 95.0), state="RUNNING"), TrialSpec(1, (52.0, 66.5, 78.72)),
              TrialSpec(2, (30.0,), genotype="DARTS_V1"))
    folder = write_study_folder(tmp_path / "results", trials=trials)
    assert main(["retrain", str(folder), "--top", "2", "--seeds", "1", "--quiet"]) == 0
    assert planned[0].genotypes == {trial_id(1): resolve_genotype("DARTS_V2").to_dict(),
                                    trial_id(2): resolve_genotype("DARTS_V1").to_dict()}
    assert planned[0].source["scores"] == {trial_id(1): 78.72, trial_id(2): 30.0}
    assert not [r for r in caplog.records if "unfinished" in r.getMessage()]


def test_top_k_takes_distinct_genotypes_and_names_the_trials_that_found_each(tmp_path, capsys, planned):
    # seeds 0 and 2 both derived DARTS V2 (89.99 and 30.0), seed 1 DARTS V1 (78.72)
    folder = write_study_folder(tmp_path / "results")
    assert main(["retrain", str(folder), "--top", "2", "--seeds", "1", "--quiet"]) == 0
    study = planned[0]
    v2, v1 = genotype_id(resolve_genotype("DARTS_V2")), genotype_id(resolve_genotype("DARTS_V1"))
    assert study.genotypes == {trial_id(0): resolve_genotype("DARTS_V2").to_dict(),
                               trial_id(1): resolve_genotype("DARTS_V1").to_dict()}
    assert study.source["genotypes"] == {
        trial_id(0): {"origin": "searched", "genotype_id": v2, "source_trials": [trial_id(0), trial_id(2)]},
        trial_id(1): {"origin": "searched", "genotype_id": v1, "source_trials": [trial_id(1)]}}
    out = capsys.readouterr().out
    assert f"{trial_id(0)}: genotype {v2}, search_val_acc 89.99, found by 2 trial(s): {trial_id(0)}, {trial_id(2)}" \
        in out


def test_random_genotypes_join_the_winners_seeded_and_valid(tmp_path, capsys, planned):
    folder = write_study_folder(tmp_path / "results")
    for seed in ("5", "5", "6"):
        assert main(["retrain", str(folder), "--top", "1", "--seeds", "2", "--random", "3", "--random-seed", seed,
                     "--quiet"]) == 0
    same, again, other = planned
    labels = [trial_id(0), "random_0", "random_1", "random_2"]
    assert list(same.genotypes) == labels and same.space["retrain.settings.genotype"].grid == labels
    assert same.space["retrain.settings.seed"].grid == [0, 1]  # every genotype, the winner's seeds
    assert same.genotypes == again.genotypes and same.genotypes != other.genotypes
    assert (same.retrain.random, same.retrain.random_seed) == (3, 5)
    randoms = [Genotype.from_dict(same.genotypes[f"random_{i}"]) for i in range(3)]
    assert all(g.form == "darts" for g in randoms)  # the search's derivation rule (top-2)
    assert [same.source["genotypes"][f"random_{i}"] for i in range(3)] == [
        {"origin": "random", "genotype_id": genotype_id(g), "random_index": i} for i, g in enumerate(randoms)]
    assert "random_1: genotype" in capsys.readouterr().out and "random_1" not in same.source["scores"]


def test_the_study_files_retrain_random_is_the_default(tmp_path, planned):
    folder = write_study_folder(tmp_path / "results")
    frozen = yaml.safe_load((folder / "study.yaml").read_text())
    frozen["retrain"].update(random=2, random_seed=9)
    (folder / "study.yaml").write_text(yaml.safe_dump(frozen))
    assert main(["retrain", str(folder), "--top", "1", "--seeds", "1", "--quiet"]) == 0
    assert list(planned[0].genotypes) == [trial_id(0), "random_0", "random_1"]
    assert planned[0].retrain.random_seed == 9


def test_retrain_trials_carry_their_genotypes_origin_in_their_config(tmp_path, planned, caplog):
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from harness.tuner import trial_plan

    tune.register_trainable("retrain_trial", lambda config: None)  # Tune's variants need a name only

    folder = write_study_folder(tmp_path / "results")
    assert main(["retrain", str(folder), "--top", "1", "--seeds", "1", "--random", "1", "--quiet"]) == 0
    plan = trial_plan(planned[0])
    generator = BasicVariantGenerator(points_to_evaluate=plan.points)
    generator.add_configurations({"x": {"run": "retrain_trial", "config": plan.param_space,
                                        "num_samples": plan.num_samples}})
    configs = {c["retrain.settings.genotype"]: c for c in (generator.next_trial().config for _ in range(2))}
    assert configs[trial_id(0)]["retrain.origin"] == "searched"
    assert configs[trial_id(0)]["retrain.source_trials"] == [trial_id(0), trial_id(2)]
    assert configs[trial_id(0)]["retrain.random_index"] is None
    assert configs["random_0"]["retrain.origin"] == "random" and configs["random_0"]["retrain.random_index"] == 0
    assert configs["random_0"]["retrain.genotype_id"] == planned[0].source["genotypes"]["random_0"]["genotype_id"]
    assert planned[0].trial_config_of(configs["random_0"]).seed == 0  # the extra keys change no setting
    assert not [r for r in caplog.records if "deprecated" in r.getMessage()]  # Tune's spec-style fallback unused


@pytest.mark.parametrize("flag, message", [("--random=-1", "--random: must be at least 0, got -1"),
                                           ("--random-seed=x", "--random-seed: 'x' is not a whole number")])
def test_bad_random_flags_are_refused(tmp_path, capsys, planned, flag, message):
    folder = write_study_folder(tmp_path / "results")
    with pytest.raises(SystemExit) as exit_info:
        main(["retrain", str(folder), flag, "--quiet"])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err and not planned


def test_random_needs_one_derivation_rule(tmp_path, capsys, planned):
    folder = write_study_folder(tmp_path / "results")
    frozen = yaml.safe_load((folder / "study.yaml").read_text())
    frozen["space"]["search.genotype_rule"] = {"grid": ["darts", "edge_all"]}
    frozen["search"].pop("genotype_rule", None)
    (folder / "study.yaml").write_text(yaml.safe_dump(frozen))
    state_file = next(folder.glob("experiment_state-*.json"))
    state = json.loads(state_file.read_text())
    for pair, rule in zip(state["trial_data"], ("darts", "edge_all", "darts")):
        trial = json.loads(pair[0])
        trial["config"]["search.genotype_rule"] = rule
        pair[0] = json.dumps(trial)
    state_file.write_text(json.dumps(state))
    assert main(["retrain", str(folder), "--top", "2", "--random", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--random needs one search space and derivation rule" in err and "edge_all rule" in err


def params_pool(seed: int, size: int) -> tuple[list, list[int]]:
    """The proxy's pool: ``size`` distinct cells of its own stream, and each one's parameters in
    the retrain network of the tiny study (5 cells, C = 4, 3×8×8 synthetic images, 4 classes)."""
    import random

    from snas.spaces import SPACES
    from snas.training import derive_seed

    space, rng, pool = SPACES["darts"], random.Random(derive_seed(seed, "proxy_pool")), []
    while len(pool) < size:
        genotype = space.random_genotype("darts", rng)
        if genotype_id(genotype) not in {genotype_id(g) for g in pool}:
            pool.append(genotype)
    return pool, [space.profile(g, family="cifar", channels=4, layers=5, num_classes=4, in_channels=3,
                                image_size=8).params for g in pool]


def test_the_proxy_picks_the_best_of_its_own_seeded_pool_in_the_retrain_network(tmp_path, capsys, planned):
    folder = write_study_folder(tmp_path / "results")
    for _ in range(2):
        assert main(["retrain", str(folder), "--top", "1", "--seeds", "1", "--random", "2", "--random-seed", "3",
                     "--proxy", "params", "--pool", "5", "--quiet"]) == 0
    study, again = planned
    assert list(study.genotypes) == [trial_id(0), "random_0", "random_1", "proxy_0", "proxy_1"]
    assert study.genotypes == again.genotypes and (study.retrain.proxy, study.retrain.pool) == ("params", 5)
    pool, params = params_pool(3, 5)
    best = sorted(range(5), key=lambda i: -params[i])[:2]
    origins = [study.source["genotypes"][f"proxy_{rank}"] for rank in range(2)]
    assert [(o["pool_index"], o["proxy_score"], o["genotype_id"]) for o in origins] == [
        (i, float(params[i]), genotype_id(pool[i])) for i in best]
    assert study.genotypes["proxy_0"] == pool[best[0]].to_dict()
    selection = study.source["selection"]
    assert selection["searched"]["hours"] == pytest.approx((15 + 15 + 5) / 3600)  # the crafted trials' wall times
    assert selection["proxy"]["seconds"] > 0 and selection["random"]["seconds"] == 0
    assert selection["proxy"]["skipped"] == []
    out = capsys.readouterr().out
    assert "proxy_1: genotype" in out and "not picked" not in out


def edges_swapped(genotype: Genotype) -> Genotype:
    """``genotype`` with each node's two edges written in the other order: the same cells."""
    from dataclasses import replace

    return replace(genotype, **{cell: tuple(pair for node in genotype.nodes(cell) for pair in reversed(node))
                                for cell in ("normal", "reduce")})


def test_a_proxy_pick_retrained_already_gives_way_to_the_next_best_score(tmp_path, capsys, planned):
    """The search found the pool's best cell by parameters (written with its edges in another
    order): the proxy picks the second and third best instead, and says which it skipped."""
    from snas.spaces import genotype_from_dict

    pool, params = params_pool(3, 5)
    ranked = sorted(range(5), key=lambda i: -params[i])
    searched = edges_swapped(pool[ranked[0]])
    assert searched != pool[ranked[0]] and genotype_id(searched) == genotype_id(pool[ranked[0]])
    folder = write_study_folder(tmp_path / "results", trials=(TrialSpec(0, (41.5, 70.25, 89.99),
                                                                        genotype=repr(searched)),))
    assert main(["retrain", str(folder), "--top", "1", "--seeds", "1", "--random", "2", "--random-seed", "3",
                 "--proxy", "params", "--pool", "5", "--quiet"]) == 0
    study = planned[0]
    assert [study.source["genotypes"][f"proxy_{rank}"]["pool_index"] for rank in range(2)] == ranked[1:3]
    ids = [genotype_id(genotype_from_dict(genotype)) for genotype in study.genotypes.values()]
    assert len(ids) == len(set(ids)) == 5
    proxy = study.source["selection"]["proxy"]
    assert proxy["skipped"] == [{"pool_index": ranked[0], "genotype_id": genotype_id(searched),
                                 "proxy_score": float(params[ranked[0]]), "duplicate_of": trial_id(0)}]
    assert proxy["what"] == f"params on a pool of 5 (batch 64, seed 3), CPU; pool #{ranked[0]} skipped, retrained as " \
                            f"{trial_id(0)}"
    assert (f"  (not picked: pool #{ranked[0]}, params {params[ranked[0]]:.4g}, is genotype {genotype_id(searched)}, "
            f"retrained already as {trial_id(0)})") in capsys.readouterr().out


def test_a_pool_left_without_enough_new_cells_is_refused(tmp_path, capsys, planned):
    pool, _ = params_pool(3, 1)
    folder = write_study_folder(tmp_path / "results", trials=(TrialSpec(0, (41.5, 70.25, 89.99),
                                                                        genotype=repr(pool[0])),))
    assert main(["retrain", str(folder), "--top", "1", "--random", "1", "--random-seed", "3",
                 "--proxy", "params", "--pool", "1", "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"snas-study: error: --pool 1: only 0 of its cells are not retrained already (as {trial_id(0)}), and the "
        f"proxy must pick 1 (--random 1); give a larger --pool\n")
    assert not planned


def test_a_taken_retrain_folder_is_refused_before_the_proxy_scores_its_pool(tmp_path, capsys, planned, monkeypatch):
    import harness.retraining

    folder = write_study_folder(tmp_path / "results")
    taken = write_study_folder(tmp_path / "results", f"{folder.name}-retrain")
    monkeypatch.setattr(harness.retraining, "proxy_arms", lambda *a, **k: pytest.fail("the pool was scored"))
    assert main(["retrain", str(folder), "--top", "1", "--seeds", "1", "--random", "2", "--proxy", "params",
                 "--pool", "5", "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        f"snas-study: error: {taken} already holds a study named '{taken.name}'; continue it with `snas-study resume "
        f"{taken}` (or --resume), start over with --overwrite, or give this one another name (--set name=NAME)\n")
    assert planned == []
    assert main(["retrain", str(folder), "--top", "1", "--seeds", "1"]) == 2  # no proxy: refused before the plan too
    captured = capsys.readouterr()
    assert captured.out == "" and "already holds a study named" in captured.err
