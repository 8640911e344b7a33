"""Real Ray Tune studies of tiny searches: ASHA, analysis, Optuna, failures, retraining."""

from __future__ import annotations

import base64
import html
import json
import shutil
import subprocess

import html5lib
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from study_helpers import tiny_study, write_study

from harness.analysis.results import load_results
from harness.analysis.scale import describe_scales, study_scales
from harness.cli import main
from snas.metrics import SEARCH_METRICS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def asha_study(ray_local, tmp_path_factory):
    """Four trials run one after the other, in listed order: learnable, pure noise, pure
    noise, learnable.

    DARTS learns these patterns within the first epoch, so the noise trials are clearly
    behind at ASHA's first rung."""
    root = tmp_path_factory.mktemp("asha")
    study = tiny_study("asha", root / "results", search={"method": "darts"},
                       data={"synthetic": {"classes": 4, "image_size": 8, "train_images": 640, "test_images": 64}},
                       space={"data.synthetic.noise": {"grid": [0.1, 5.0, 6.0, 0.06]}},
                       scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 2},
                       searcher={"grid_order": "listed"}, resources={"cpu": 1, "max_concurrent": 1})
    code = main(["run", str(write_study(root / "asha.yaml", study)), "--quiet"])
    return code, root / "results" / "asha"


def asha_decisions(curves: pd.DataFrame, order: list[str], grace: int, rf: float, max_t: int) -> set[str]:
    """The trials ASHA stops, by its rule: at a rung, a trial continues unless its value is below
    the (1 − 1/rf) percentile of the values recorded at that rung before it."""
    milestones = [grace * rf**k for k in range(int(np.log(max_t / grace) / np.log(rf)) + 1)]
    stopped = set()
    for milestone in milestones:
        recorded = []
        for trial in order:
            rows = curves[(curves["trial_id"] == trial) & (curves["training_iteration"] == milestone)]
            if not len(rows) or milestone >= max_t:
                continue
            value = float(rows["search_val_acc"].iloc[0])
            if recorded and value < np.percentile(recorded, (1 - 1 / rf) * 100):
                stopped.add(trial)
            recorded.append(value)
    return stopped


def test_asha_study_runs_end_to_end(asha_study):
    code, folder = asha_study
    assert code == 0
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert len(trials) == 4 and set(trials["state"]) == {"TERMINATED"}
    curves = pd.read_csv(folder / "analysis" / "curves.csv")
    order = sorted(trials["trial_id"])  # run one at a time, in grid order
    expected = asha_decisions(curves, order, grace=1, rf=2, max_t=3)
    assert set(trials.loc[trials["stopped_early"], "trial_id"]) == expected
    noise_trials = trials[trials["noise"] >= 5.0]
    assert noise_trials["stopped_early"].all() and (noise_trials["epochs"] == 1).all()
    assert set(SEARCH_METRICS) <= set(curves.columns)
    assert len(curves) == trials["epochs"].sum()
    for trial_dir in folder.glob("trial_*"):
        assert (trial_dir / "genotype.json").is_file()
        assert list(trial_dir.glob("checkpoint_*/checkpoint.pt"))
    frozen = (folder / "study.yaml").read_text()
    assert "provenance:" in frozen and "ray:" in frozen and "weights:" in frozen  # resolved defaults


def test_analysis_tables_plots_and_winners(asha_study):
    _, folder = asha_study
    trials = pd.read_parquet(folder / "analysis" / "trials.parquet")
    assert trials["score"].dtype == float and trials["epochs"].dtype.kind == "i"
    assert trials["stopped_early"].dtype == bool and trials["eval_macs_m"].dtype == float
    for column in ("trial_id", "noise", "state", "final_search_val_acc", "best_child_val_acc", "genotype",
                   "child_params_m", "eval_params_m", "wall_time_s", "checkpoint"):
        assert column in trials
    best = json.loads((folder / "analysis" / "best.json").read_text())
    top = trials.loc[trials["score"].idxmax()]
    assert best["trials"][0]["trial_id"] == top["trial_id"]
    assert best["trials"][0]["score"] == pytest.approx(top["score"])
    assert best["trials"][0]["genotype_json"]["normal_concat"] == [2, 3, 4, 5]
    plots = {p.name for p in (folder / "plots").glob("*.png")}
    assert {"curves_search_val_acc.png", "pareto.png", "asha_rungs.png", "score_vs_noise.png",
            "best_cells.png"} <= plots
    assert "trajectories.png" not in plots  # DARTS has no temperature, and no penalty is on: nothing to draw
    assert all((folder / "plots" / p).stat().st_size > 5000 for p in plots)
    assert all((folder / "plots" / p.replace(".png", ".pdf")).is_file() for p in plots)


def test_status_best_and_analyze_commands(asha_study, capsys):
    _, folder = asha_study
    assert main(["status", str(folder)]) == 0
    out = capsys.readouterr().out
    stopped = int(pd.read_csv(folder / "analysis" / "trials.csv")["stopped_early"].sum())
    stopped_column = [line.split()[4] for line in out.splitlines()[2:6]]  # trial, noise, state, epochs, stopped
    assert stopped >= 2 and stopped_column.count("ASHA") == stopped and stopped_column.count("done") == 4 - stopped
    assert main(["best", str(folder), "--top", "2", "--json"]) == 0
    winners = json.loads(capsys.readouterr().out)["trials"]
    assert [w["rank"] for w in winners] == [1, 2]
    assert main(["analyze", str(folder), "--metric", "child_val_acc", "--scope", "best"]) == 0
    assert "child_val_acc" in capsys.readouterr().out


def copy_without_tune_state(folder, copy):
    """The study as a killed driver can leave it: trial folders, but no experiment state."""
    shutil.copytree(folder, copy)
    for state in copy.glob("experiment_state-*.json"):
        state.unlink()
    return copy


def test_partial_and_missing_results(asha_study, tmp_path, capsys):
    _, folder = asha_study
    copy = copy_without_tune_state(folder, tmp_path / "asha")
    assert main(["analyze", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "analysis is partial" in out and "4 trials" in out
    assert main(["status", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_retrain_the_winner_with_two_seeds(asha_study, capsys):
    _, folder = asha_study
    assert main(["best", str(folder), "--top", "1", "--json"]) == 0
    winner = json.loads(capsys.readouterr().out)["trials"][0]
    assert main(["retrain", str(folder), "--top", "1", "--seeds", "2", "--random", "1", "--quiet"]) == 0
    retrained = folder.parent / "asha-retrain"
    table = pd.read_csv(retrained / "analysis" / "retrain_vs_search.csv").set_index("arch")
    assert sorted(table.index) == sorted([winner["trial_id"], "random_0"])
    assert list(table["seeds"]) == [2, 2]  # the random cell gets the winner's seeds
    assert table.loc[winner["trial_id"], "searched_score"] == pytest.approx(winner["score"])
    assert table["test_acc_mean"].between(0, 100).all()
    assert (retrained / "plots" / "retrain_vs_search.png").is_file()
    configs = [json.loads(path.read_text()) for path in sorted(retrained.glob("trial_*/params.json"))]
    origins = sorted((c["retrain.settings.genotype"], c["retrain.settings.seed"], c["retrain.origin"],
                      c["retrain.random_index"]) for c in configs)
    assert origins == sorted([("random_0", 0, "random", 0), ("random_0", 1, "random", 0),
                              (winner["trial_id"], 0, "searched", None), (winner["trial_id"], 1, "searched", None)])
    assert {c["retrain.genotype_id"] for c in configs if c["retrain.origin"] == "searched"} == {winner["genotype_id"]}
    # The predictor leaderboard reads the proxies written for the retrained genotypes; two
    # genotypes rank nothing, and the random one had no search.
    assert main(["proxies", str(retrained), "--proxy", "synflow", "--batch-size", "8"]) == 0
    assert main(["analyze", str(retrained)]) == 0
    board = pd.read_csv(retrained / "analysis" / "predictors.csv").set_index("predictor")
    assert set(board.index) == {"search_val_acc", "child_val_acc", "params_m", "macs_m", "synflow"}
    assert board.loc["search_val_acc", "n"] == 1 and board.loc["synflow", "n"] == 2
    assert board["note"].str.startswith("cannot rank: ").all() and (retrained / "plots" / "predictors.png").is_file()


def test_a_collapsing_search_is_stopped_with_its_reason(ray_local, tmp_path, capsys):
    """Seed 0's normal cell derives 2 skip_connect edges from its first epoch on, seed 1's one."""
    study = tiny_study("collapse", tmp_path / "results", stop={"max_skip_connect": 1})
    assert main(["run", str(write_study(tmp_path / "s.yaml", study)), "--quiet"]) == 0
    assert "1 stopped for collapse (skip_connect > 1)" in capsys.readouterr().out
    assert main(["status", str(tmp_path / "results" / "collapse")]) == 0
    rows = {line.split()[1]: line for line in capsys.readouterr().out.splitlines() if " TERMINATED " in line}
    assert rows["0"].split()[3:8] == ["1/3", "collapse", "(skip_connect", "2", ">"]
    assert rows["1"].split()[3:5] == ["3/3", "done"]


def test_a_failing_trial_resumes_from_its_checkpoint(ray_local, tmp_path):
    study = tiny_study("faults", tmp_path / "results", faults={"fail_once_at_epoch": 2},
                       failures={"max_failures": 1})
    assert main(["run", str(write_study(tmp_path / "s.yaml", study)), "--quiet"]) == 0
    folder = tmp_path / "results" / "faults"
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert list(trials["num_failures"]) == [1, 1] and set(trials["state"]) == {"TERMINATED"}
    for trial_dir in folder.glob("trial_*"):
        assert (trial_dir / "injected_fault.txt").is_file()
        reported = [json.loads(line)["epoch"] for line in (trial_dir / "result.json").read_text().splitlines()]
        # Continued from the epoch-2 checkpoint, not from scratch: epoch 1 was never run again.
        # (Tune's result.json may lack epoch 2: on restart it re-downloads a stale copy.)
        assert reported.count(1) == 1 and reported[-1] == 3
        history = [json.loads(line)["epoch"] for line in (trial_dir / "metrics.jsonl").read_text().splitlines()]
        assert history == [1, 2, 3]
    curves = pd.read_csv(folder / "analysis" / "curves.csv")
    assert curves.groupby("trial_id")["training_iteration"].apply(list).tolist() == [[1, 2, 3], [1, 2, 3]]


def test_errored_trials_fail_the_run_and_resume_retries_them(ray_local, tmp_path, capsys):
    study = tiny_study("errors", tmp_path / "results", faults={"fail_once_at_epoch": 1},
                       failures={"max_failures": 0})
    assert main(["run", str(write_study(tmp_path / "s.yaml", study)), "--quiet"]) == 1
    folder = tmp_path / "results" / "errors"
    assert "trial(s) failed" in capsys.readouterr().err
    assert main(["status", str(folder)]) == 0
    assert capsys.readouterr().out.count("InjectedFault: injected fault after epoch") == 2
    assert main(["resume", str(folder), "--quiet"]) == 0
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert set(trials["state"]) == {"TERMINATED"} and list(trials["epochs"]) == [3, 3]


def test_optuna_study_is_seeded_and_journaled(ray_local, tmp_path):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = tiny_study(
        "tpe", tmp_path / "results", search={"epochs": 1},
        space={"search.weights.lr": {"loguniform": [0.005, 0.1]}, "search.seed": {"choice": [0, 1]}},
        searcher={"name": "optuna", "num_samples": 3, "seed": 7,
                  "points_to_evaluate": [{"search.weights.lr": 0.025, "search.seed": 0}]})
    assert main(["run", str(write_study(tmp_path / "s.yaml", study)), "--quiet"]) == 0
    folder = tmp_path / "results" / "tpe"
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert len(trials) == 3
    assert 0.025 in list(trials["lr"])  # the paper default was evaluated
    journal = JournalStorage(JournalFileBackend(str(folder / "optuna.journal")))
    stored = optuna.load_study(study_name="tpe", storage=journal)
    assert len(stored.trials) == 3
    assert sorted(t.value for t in stored.trials) == pytest.approx(sorted(trials["score"]))


def test_report_is_one_self_contained_valid_page(asha_study, tmp_path, capsys):
    _, folder = asha_study
    assert main(["report", str(folder)]) == 0
    assert f"report: {folder / 'report.html'}" in capsys.readouterr().out
    page = (folder / "report.html").read_text()
    html5lib.HTMLParser(strict=True).parse(page)  # raises on any parse error
    plots = sorted((folder / "plots").glob("*.png"))
    assert "best_cells.png" in {p.name for p in plots}
    for plot in plots:  # every plot, embedded byte for byte (the winner's cells once, in the winners' section)
        assert page.count(base64.b64encode(plot.read_bytes()).decode()) == (plot.name != "best_cells.png")
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert all(trial_id in page for trial_id in trials["trial_id"])
    best = json.loads((folder / "analysis" / "best.json").read_text())["trials"]
    assert page.count('class="winner"') == len(best)
    assert html.escape(best[0]["genotype"]) in page
    study_dump = page.split("<h2>Study file</h2>", 1)[1]
    assert "name: asha" in study_dump and "grid:" in study_dump and "null" not in study_dump  # only what was set
    trials_section = page.split("<h2>Trials</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<details><summary>the other " in trials_section  # key columns first, the rest folded
    assert "<script" not in page and "<link" not in page and 'src="http' not in page
    assert "Partial results" not in page

    render_in_a_browser(folder / "report.html", tmp_path / "report.png")


def render_in_a_browser(page, screenshot):
    """Open the page in headless Chromium when the machine has it (CI may not)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,2400",
                    f"--screenshot={screenshot}", page.as_uri()], check=True, capture_output=True, timeout=120)
    with Image.open(screenshot) as image:
        assert image.size == (1280, 2400)
        colours = image.convert("L").getextrema()
    assert colours[0] < 60 and colours[1] > 200  # text and images on a light page, not a blank render


def test_report_of_a_partial_study_says_so(asha_study, tmp_path, capsys):
    _, folder = asha_study
    copy = copy_without_tune_state(folder, tmp_path / "asha")
    out = tmp_path / "elsewhere.html"
    assert main(["report", str(copy), "--out", str(out)]) == 0
    page = out.read_text()
    assert "Partial results" in page and "analysis is partial" in page
    assert main(["report", str(copy), "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["report", str(copy), "--out", str(copy / "study.yaml")]) == 2  # a report never replaces other files
    assert "exists and was not written by this command; it is left alone" in capsys.readouterr().err
    assert (copy / "study.yaml").read_text() == (folder / "study.yaml").read_text()
    assert main(["report", str(copy), "--out", str(out)]) == 0  # ... but replaces its own page
    best = (copy / "analysis" / "best.json").read_text()
    assert main(["analyze", str(copy), "--metric", "no_such_metric"]) == 2  # refused before anything is rewritten
    assert "--metric 'no_such_metric' is no metric the trials report" in capsys.readouterr().err
    assert (copy / "analysis" / "best.json").read_text() == best
    assert main(["report", str(tmp_path / "nowhere")]) == 2


@pytest.mark.parametrize(("resources", "largest"), [({"gpu": 1}, "2 CPU, 0 GPU"), ({"cpu": 3}, "2 CPU, 0 GPU")])
def test_trials_no_node_can_hold_are_refused_before_anything_is_written(ray_local, tmp_path, capsys,
                                                                        resources, largest):
    study = tiny_study("too_big", tmp_path / "results", resources=resources)
    assert main(["run", str(write_study(tmp_path / "s.yaml", study)), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"no node of this Ray cluster has that much (the largest: {largest})" in err
    assert "--set resources.cpu=2 --set resources.gpu=0" in err
    assert not (tmp_path / "results" / "too_big").exists()


def test_overwrite_keeps_the_old_study_when_the_new_run_is_refused(ray_local, tmp_path, capsys):
    study = tiny_study("kept", tmp_path / "results", resources={"cpu": 3})
    old = tmp_path / "results" / "kept"
    old.mkdir(parents=True)
    (old / "study.yaml").write_text("old: study\n")
    assert main(["run", str(write_study(tmp_path / "s.yaml", study)), "--quiet", "--overwrite"]) == 2
    assert "no node of this Ray cluster has that much" in capsys.readouterr().err
    assert (old / "study.yaml").read_text() == "old: study\n"


def test_an_image_that_does_not_decode_stops_the_study_which_resumes_once_it_is_fixed(ray_local, tmp_path, capsys):
    """Every trial would fail on the file, each retried: the first failure stops the study as
    Ctrl-C does (exit 2, the message, no trial marked failed) and `resume` runs them all."""
    rng = np.random.default_rng(0)
    for name in ("red", "blue"):
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / name / f"{i}.png")
    broken = tmp_path / "images" / "blue" / "broken.png"
    broken.write_bytes((tmp_path / "images" / "blue" / "0.png").read_bytes()[:60])  # its header, its pixels cut
    study = tiny_study("broken", tmp_path / "results", search={"batch_size": 4, "epochs": 2},
                       failures={"max_failures": 2})
    study["data"] = {"dataset": "imagefolder", "root": str(tmp_path / "images"), "image_size": 16, "in_memory": "no"}
    folder = tmp_path / "results" / "broken"
    assert main(["run", str(write_study(tmp_path / "broken.yaml", study)), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"which cannot read its data: cannot read image {broken}: image file is truncated" in err
    assert err.strip().endswith(f"snas-study resume {folder}")
    assert "Unhandled error" not in err and "Stop signal received" not in err and "Traceback" not in err
    failures = [line for path in folder.glob("trial_*/error.txt") for line in path.read_text().splitlines()
                if line.startswith("snas.errors.DataError")]
    assert 1 <= len(failures) <= 2  # the trials running at the time; retried, 2 trials × 3 attempts
    assert "ERROR" not in set(pd.read_csv(folder / "analysis" / "trials.csv")["state"])

    broken.write_bytes((tmp_path / "images" / "blue" / "1.png").read_bytes())
    assert main(["resume", str(folder), "--quiet"]) == 0
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert len(trials) == 2 and set(trials["state"]) == {"TERMINATED"} and list(trials["epochs"]) == [2, 2]


def test_an_image_folder_study_runs_end_to_end(ray_local, tmp_path):
    """The issue's study, once refused as needing 64.1 GiB: 2 classes of 16×16 images, batch 4,
    a 3-cell C=4 search, here 2 seeds × 2 epochs on 12 PNGs per class."""
    rng = np.random.default_rng(0)
    for colour, name in (((200, 40, 40), "red"), ((40, 40, 200), "blue")):
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(np.array(colour) + rng.normal(0, 30, (16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / name / f"{i}.png")
    study = tiny_study("folder", tmp_path / "results", search={"batch_size": 4, "epochs": 2})
    study["data"] = {"dataset": "imagefolder", "root": str(tmp_path / "images"), "image_size": 16}
    assert main(["run", str(write_study(tmp_path / "folder.yaml", study)), "--quiet"]) == 0
    folder = tmp_path / "results" / "folder"
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert len(trials) == 2 and set(trials["state"]) == {"TERMINATED"} and list(trials["epochs"]) == [2, 2]
    best = json.loads((folder / "analysis" / "best.json").read_text())["trials"]
    assert best[0]["trial_id"] == trials.loc[trials["score"].idxmax(), "trial_id"]
    assert set(best[0]["genotype_json"]) >= {"normal", "reduce"}
    results = load_results(folder)  # each trial's config.json: the settings it ran with
    assert all(trial.resolved is not None for trial in results.trials)
    scales = study_scales("search", [results.settings_of(trial.trial_id) for trial in results.trials])
    assert describe_scales(scales["eval_"]) == "5 cells × C=8, 3×16×16 input, 2 classes"
