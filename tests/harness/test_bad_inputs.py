"""Bad input to every command, as a table: each is exit 2 with one ``snas-study: error:`` line,
no traceback, and every file that was in the folder before is byte for byte what it was.

All refusals happen before Ray starts, so the table runs in-process in seconds.  The
folder each case runs in holds (``prepare``) a valid study file, a study folder, damaged
copies of both, a user's pictures and page, binary and YAML impostors, checkpoints (real,
foreign, garbage, and one carrying a pickle payload that must never run) and a finished
``search --out`` folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest
import torch
import yaml
from PIL import Image
from study_folders import write_study_folder
from study_helpers import tiny_study

from harness.cli import main
from harness.study import validate_study
from snas.catalogue import CATALOGUE
from snas.checkpoint import save_checkpoint

PAYLOAD_RAN = "payload_ran"


class _Payload:
    """Unpickling this creates a file: proof that a pickle was run."""

    def __reduce__(self):
        return (open, (PAYLOAD_RAN, "w"))


def prepare(root) -> None:
    """The files every case may point at, in ``root`` (the working folder)."""
    study = tiny_study("s", root / "results")
    (root / "study.yaml").write_text(yaml.safe_dump(study))
    (root / "unknown_key.yaml").write_text(yaml.safe_dump({**study, "serch": {"epochs": 3}}))
    (root / "bad_range.yaml").write_text(yaml.safe_dump({**study, "search": {**study["search"], "epochs": -3}}))
    (root / "huge.yaml").write_text(yaml.safe_dump({**study, "search": {**study["search"], "layers": 100000}}))
    (root / "proc_storage.yaml").write_text(yaml.safe_dump({**study, "storage": {"path": "/proc"}}))
    (root / "taken.yaml").write_text(yaml.safe_dump({**study, "name": "taken"}))
    (root / "not_yaml.yaml").write_text("name: [unclosed\n")
    (root / "list.yaml").write_text("- just\n- a list\n")
    (root / "binary.yaml").write_bytes(b"\x89\xff\x00\x01binary")
    folder = root / "results" / "s"
    folder.mkdir(parents=True)
    frozen = validate_study(study).resolved()
    (folder / "study.yaml").write_text(yaml.safe_dump(frozen.model_dump(mode="json", by_alias=True)))
    (root / "results" / "taken").mkdir()
    (root / "results" / "taken" / "notes.txt").write_text("a user's notes, not a study\n")
    (root / "results" / "damaged").mkdir()
    (root / "results" / "damaged" / "study.yaml").write_text("name: [unclosed\n")
    (root / "results" / "binary").mkdir()
    (root / "results" / "binary" / "study.yaml").write_bytes(b"\xff\xfe\x00")
    (root / "results" / "empty").mkdir()
    _study_folders_not_as_the_tool_leaves_them(root / "results", folder / "study.yaml")
    (root / "cat.png").write_bytes(b"\x89PNG a user's picture\n")
    (root / "DARTS_V2.svg").write_text("<svg>a user's drawing</svg>\n")
    (root / "page.html").write_text("<html>a user's page</html>\n")
    genotype = CATALOGUE["DARTS_V2"].genotype.to_dict()
    save_checkpoint(root / "ck.pt", "retrain", {"config": {"epochs": 3}, "epoch": 1, "genotype": genotype,
                                                "state": {"history": []}})
    (root / "ck_cells.png").write_bytes(b"\x89PNG a user's picture beside the checkpoint\n")
    (root / "garbage.pt").write_bytes(b"\x00not a checkpoint")
    torch.save({"weights": torch.zeros(2)}, root / "foreign.pt")
    torch.save({"format": "snas-study-checkpoint", "kind": "search", "x": _Payload()}, root / "payload.pt")
    (root / "run").mkdir()
    (root / "run" / "config.yaml").write_text("epochs: 1\n")
    (root / "run" / "checkpoint.pt").write_bytes((root / "garbage.pt").read_bytes())
    (root / "payload_run").mkdir()
    (root / "payload_run" / "checkpoint.pt").write_bytes((root / "payload.pt").read_bytes())
    (root / "afile").write_text("a user's file\n")
    (root / "tables").mkdir()
    (root / "tables" / "proxies.csv").write_text("a user's table\n")
    (root / "dup.yaml").write_text(yaml.safe_dump(study).replace("search:\n", "search:\n  epochs: 2\n  epochs: 3\n", 1))
    (root / "long_name.yaml").write_text(yaml.safe_dump({**study, "name": "n" * 201}))
    random_study = {**study, "searcher": {"name": "random"},
                    "space": {"search.temperature.initial": {"uniform": [0.5, 2.0]}}}
    (root / "points.yaml").write_text(yaml.safe_dump(
        {**random_study, "searcher": {"name": "random", "points_to_evaluate": [{"search.temperature.initial": 9.0}]}}))
    pbt = {**study, "name": "pbt", "space": {"search.temperature.initial": {"grid": [1.0, 2.0]}},
           "scheduler": {"name": "pbt", "perturbation_interval": 2,
                         "mutations": {"search.temperature.initial": {"uniform": [0.5, 4.0]}}}}
    (root / "pbt.yaml").write_text(yaml.safe_dump(pbt))
    many = {"search.seed": {"grid": list(range(101))},
            "search.temperature.initial": {"grid": [1.0 + i for i in range(100)]}}
    (root / "many.yaml").write_text(yaml.safe_dump({**study, "name": "many", "space": many}))
    crafted = write_study_folder(root / "results", "crafted")
    (root / "crafted.yaml").write_text(yaml.safe_dump({**study, "name": "crafted"}))
    for broken, damage in (("nopkl", lambda f: (f / "tuner.pkl").unlink()),
                           ("badpkl", lambda f: (f / "tuner.pkl").write_bytes(b"garbage\n")),
                           ("nostate", lambda f: [p.unlink() for p in f.glob("experiment_state-*.json")]),
                           ("notune", lambda f: [p.unlink() for p in (f / "tuner.pkl", *f.glob("*-state-*"))]),
                           ("badstate", lambda f: [p.write_text('{"trial_data": 3}') for p in
                                                   f.glob("experiment_state-*.json")]),
                           ("badsearcher", lambda f: [p.write_bytes(b"\x80\x05cut") for p in
                                                      f.glob("basic-variant-state-*.json")])):
        shutil.copytree(crafted, root / "results" / broken)
        damage(root / "results" / broken)
    optuna_study = yaml.safe_load((crafted / "study.yaml").read_text())
    optuna_study.update(searcher={"name": "optuna", "num_samples": 3}, space={"search.seed": {"choice": [0, 1, 2]}})
    streams = {"tpe": ["MT19937", [7] * 624, 624, 0, 0.0], "random": ["MT19937", [7] * 623, 624, 0, 0.0]}
    for broken, state in (("optuna_nostate", None), ("optuna_badstate", "{not json"),
                          ("optuna_pickled", json.dumps({"tune_trials": {}, "points_started": 0,
                                                         "tpe_sampler_pickle": "gAR9lC4=", "journal_entries": None})),
                          ("optuna_badstreams", json.dumps({"tune_trials": {}, "points_started": 0,
                                                            "tpe_random_streams": streams, "journal_entries": None}))):
        shutil.copytree(crafted, root / "results" / broken)
        (root / "results" / broken / "study.yaml").write_text(yaml.safe_dump(optuna_study))
        if state is not None:
            (root / "results" / broken / "optuna-searcher-2026-12-01_09-12-35.json").write_text(state)
    (root / "results" / "dupkeys").mkdir()
    (root / "results" / "dupkeys" / "study.yaml").write_text((folder / "study.yaml").read_text() + "name: again\n")
    for k, name in enumerate(("cat", "dog")):  # an image folder with one empty image
        (root / "images" / name).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (16, 16), (200 * k, 100, 20 * i)).save(root / "images" / name / f"{i}.png")
    (root / "images" / "dog" / "3.png").write_bytes(b"")
    images = {"dataset": "imagefolder", "root": "images", "image_size": 16}
    (root / "images.yaml").write_text(yaml.safe_dump({**study, "name": "images", "data": images}))


def _study_folders_not_as_the_tool_leaves_them(results, frozen) -> None:
    """A study.yaml that is a pipe, a link or enormous; analysis outputs that are a link or a folder."""
    for name in ("piped", "linked", "enormous", "linked_plots", "report_folder"):
        (results / name).mkdir()
    os.mkfifo(results / "piped" / "study.yaml")
    (results / "linked" / "study.yaml").symlink_to(os.path.relpath(frozen, results / "linked"))
    with open(results / "enormous" / "study.yaml", "wb") as handle:
        handle.truncate(2**20 + 1)
    for name in ("linked_plots", "report_folder"):
        (results / name / "study.yaml").write_bytes(frozen.read_bytes())
    (results / "linked_plots" / "plots").symlink_to("../taken")
    (results / "report_folder" / "report.html").mkdir()
    (results / "report_folder" / "report.html" / "mine.txt").write_text("a user's file\n")


SEARCH = ["--dataset", "digits", "--epochs", "1", "--quiet"]
ACCURACY = "{metric: child_val_acc, mode: max}"
COST = "{metric: eval_macs_m, mode: min}"

# (argv, a fragment of the one error line)
CASES: list[tuple[list[str], str]] = [
    # run
    (["run", "missing.yaml"], "study file missing.yaml does not exist"),
    (["run", "quickstrat"], "study file quickstrat does not exist, and no bundled study has that name (bundled: "
                            "accuracy_vs_cost, distributed_search, method_seeds,"),
    (["run", "results"], "is a folder; give a YAML file"),
    (["run", "binary.yaml"], "is not a text file (not UTF-8)"),
    (["run", "not_yaml.yaml"], "is not valid YAML"),
    (["run", "list.yaml"], "must be a mapping of study sections"),
    (["run", "unknown_key.yaml"], "serch: unknown key"),
    (["run", "bad_range.yaml"], "epochs"),
    (["run", "huge.yaml"], "a 100000-cell search network with C=4 at batch 32 needs about"),
    (["run", "study.yaml", "--set", "search.init_channels=100000"], "GiB available"),
    (["run", "study.yaml", "--set", "search.batch_size=0"], "batch_size"),
    (["run", "proc_storage.yaml"], "storage.path: cannot use /proc for results: cannot write in /proc"),
    (["run", "taken.yaml"], "exists but is not a study folder (no study.yaml); it is left alone"),
    (["run", "study.yaml"], "holds a study named 's' that never started (Tune wrote no state"),
    (["run", "crafted.yaml"], "already holds a study named 'crafted'; continue it with `snas-study resume"),
    (["run", "study.yaml", "--set", "search.epochs=0"],
     "invalid search settings: search.epochs: Input should be greater than or equal to 1\n"),
    (["run", "study.yaml", "--set", "search.epochs=1", "--set", "scheduler={name: asha, grace_period: 2}"],
     "scheduler.grace_period 2 is past the trials' last epoch (search.epochs 1): ASHA judges a trial first after "
     "grace_period epochs"),
    (["run", "study.yaml", "--set", "scheduler={name: asha, grace_period: 3, max_t: 2}"],
     "scheduler.grace_period 3 is past scheduler.max_t 2"),
    (["run", "study.yaml", "--set", f"objective=[{ACCURACY}, {COST}]", "--set", "searcher.name=random",
      "--set", "scheduler={name: moasha, grace_period: 4}"],
     "scheduler.grace_period 4 is past the trials' last epoch (search.epochs 3): MO-ASHA judges"),
    (["run", "pbt.yaml", "--set", "search.epochs=2"],
     "scheduler.perturbation_interval 2 is not below the trials' epochs (search.epochs 2): PBT would perturb no "
     "trial before it ends"),
    (["run", "study.yaml", "--set",
      "scheduler={name: replay, schedule: [{epoch: 3, settings: {search.temperature.initial: 1.0}}]}"],
     "scheduler.schedule[0].epoch 3 is not below the trials' epochs (search.epochs 3): no trial would take that "
     "change before it ends"),
    (["run", "study.yaml", "--resume", "--overwrite"], "not allowed with argument"),
    (["run", "dup.yaml"], "is not valid YAML: duplicate key 'epochs' (first given on line"),
    (["run", "study.yaml", "--set", "tracking.mlflow.uri=http://127.0.0.1:9"],
     "tracking.mlflow.uri: no MLflow server answers at http://127.0.0.1:9 ("),
    (["run", "study.yaml", "--set", "tracking.mlflow.uri=file:///proc/mlruns", "--set", "tracking.mlflow.experiment=e"],
     "tracking.mlflow.uri file:///proc/mlruns: The filesystem tracking backend (e.g., './mlruns') is in maintenance "
     "mode"),
    (["run", "study.yaml", "--set", "tracking.mlflow.experiment=e"], "tracking.mlflow.uri: Field required"),
    (["run", "study.yaml", "--set", "tracking.wandb.project=p", "--set", "tracking.wandb.mode=onlin"],
     "tracking.wandb.mode: Input should be 'online', 'offline' or 'disabled'"),
    (["run", "study.yaml", "--set", "tracking.neptune.project=p"], "tracking.neptune: unknown key"),
    (["run", "long_name.yaml"], "name is 201 characters long; at most 200"),
    (["run", "study.yaml", "--set", "search.temperature.initial=.inf"],
     "search.temperature.initial: Input should be a finite number"),
    # PyYAML's ReaderError has no ``problem`` (it once escaped as an AttributeError traceback)
    (["run", "study.yaml", "--set", "space.search.epochs=\x07"],
     "the value is not valid YAML (unacceptable character #x0007: special characters are not allowed)"),
    (["run", "study.yaml", "--set", "search.weights.lr=.inf"], "search.weights.lr: Input should be a finite number"),
    (["run", "study.yaml", "--set", "search.arch.betas=[0.5, .nan]"], "search.arch.betas.1: Input should be a finite"),
    (["run", "study.yaml", "--set", "space.search.temperature.initial.grid=[1.0, .inf]"],
     "search.temperature.initial: Input should be a finite number"),
    (["run", "study.yaml", "--set", "searcher.name=random", "--set",
      "space.search.temperature.initial.uniform=[0.5, .inf]"], "Input should be a finite number"),
    (["run", "points.yaml"],
     "searcher.points_to_evaluate[0].search.temperature.initial: 9.0 is not a number in uniform [0.5, 2.0]"),
    (["run", "study.yaml", "--set", "name=odd", "--set", "data.synthetic.image_size=6"],
     "the first trial's settings: images of 6×6 pixels are too small or oddly sized for a 3-cell search network"),
    (["run", "many.yaml"], "has 10,100 trials (grid 101 × 100, num_samples 1), more than 10,000"),
    (["run", "taken.yaml", "--set", "name=new", "--address", "127.0.0.1:1"],
     "--address 127.0.0.1:1: nothing answers there"),
    (["run", "taken.yaml", "--set", "name=new", "--address", "head"], "--address 'head': give auto, HOST:PORT"),
    (["run", "images.yaml"], "images/dog/3.png: empty file; remove or replace it"),
    (["run", "pbt.yaml", "--set", "scheduler.mutations={search.init_channels: {grid: [4, 8]}}"],
     "scheduler.mutations.search.init_channels: cannot change during a trial; PBT may mutate only "
     "search.temperature.initial, search.temperature.anneal_rate, search.temperature.min, search.resource.lambda, "
     "search.weights.lr, search.weights.lr_min, search.arch.lr, search.drop_path\n"),
    (["run", "pbt.yaml", "--set", "scheduler.mutations={search.arch.lr: {loguniform: [1.0e-4, 1.0e-3]}}"],
     "scheduler.mutations.search.arch.lr: PBT explores settings the space varies; add search.arch.lr to space"),
    (["run", "pbt.yaml", "--set", "checkpoint_every=3"],
     "checkpoint_every 3 does not divide scheduler.perturbation_interval 2: PBT copies a donor's checkpoint at "
     "every perturbation; set checkpoint_every to 2 (or leave it out)"),
    (["run", "pbt.yaml", "--set", "resources.workers=2"],
     "scheduler pbt runs trials in one process: a data-parallel trial (resources.workers 2) cannot continue from "
     "another trial's checkpoint yet; use resources.workers: 1"),
    (["run", "pbt.yaml", "--set", "searcher.name=optuna", "--set",
      "space={search.temperature.initial: {choice: [1.0, 2.0]}}"],
     "scheduler pbt cannot run with searcher optuna: it copies and perturbs trials itself"),
    (["run", "pbt.yaml", "--set", "scheduler.perturbation_interval=0"],
     "scheduler.perturbation_interval: Input should be greater than or equal to 1"),
    (["run", "study.yaml", "--set", f"objective=[{ACCURACY}, {{metric: eval_mac_m, mode: min}}]"],
     "objective[1].metric 'eval_mac_m' is no metric the trials report; did you mean eval_macs_m?\n"),
    (["run", "study.yaml", "--set", f"objective=[{ACCURACY}, {{metric: test_acc, mode: max}}]"],
     "objective[1].metric 'test_acc' is reported by retrain trials, not by this search study's; choose from epoch,"),
    (["run", "study.yaml", "--set", f"objective=[{ACCURACY}, {{metric: eval_macs_m, mode: max}}]"],
     "objective[1].mode max would search for the largest eval_macs_m; it is better smaller: use mode min\n"),
    (["run", "study.yaml", "--set", f"objective=[{ACCURACY}, {{metric: child_val_acc, mode: max}}]"],
     "objective[1].metric child_val_acc is already an objective; give each metric once\n"),
    (["run", "study.yaml", "--set", f"objective=[{ACCURACY}]"],
     "objective: List should have at least 2 items after validation, not 1\n"),
    (["run", "study.yaml", "--set", "constraints={eval_params_m: {max: 3.3}}"],
     "constraints bound the trials of a multi-objective study (a list objective), whose answer is the front of the "
     "feasible trials; with one objective, add the bounded metric as a second objective or drop constraints\n"),
    (["run", "study.yaml", "--set", f"objective=[{ACCURACY}, {COST}]", "--set",
      "constraints={eval_parms_m: {max: 3.3}}"],
     "constraints.eval_parms_m: 'eval_parms_m' is no metric the trials report; did you mean eval_params_m?\n"),
    (["run", "study.yaml", "--set", f"objective=[{ACCURACY}, {COST}]", "--set", "constraints={eval_params_m: {}}"],
     "constraints.eval_params_m: give max, min or both\n"),
    (["run", "study.yaml", "--set", f"objective=[{ACCURACY}, {COST}]", "--set", "scheduler.name=asha"],
     "scheduler asha stops trials by one metric at each rung, so it cannot take a list objective; "
     "use scheduler moasha (MO-ASHA) or fifo\n"),
    (["run", "pbt.yaml", "--set", f"objective=[{ACCURACY}, {COST}]"],
     "scheduler pbt copies the best trials by one metric, so it cannot take a list objective; use scheduler fifo\n"),
    (["run", "study.yaml", "--set", "searcher.name=optuna", "--set", "searcher.population_size=10", "--set",
      "space={search.seed: {choice: [0, 1]}}"],
     "searcher.population_size sizes the generations of sampler nsga2 or nsga3; TPE has none"),
    (["run", "study.yaml", "--set", "searcher.name=optuna", "--set", "searcher.sampler=nsga2", "--set",
      "searcher.startup_trials=4", "--set", "space={search.seed: {choice: [0, 1]}}"],
     "searcher.startup_trials counts the random trials sampler tpe starts with; nsga2 starts with a random first "
     "generation: set searcher.population_size instead\n"),
    (["run", "study.yaml", "--set", "searcher.name=optuna", "--set", "searcher.startup_trials=0", "--set",
      "space={search.seed: {choice: [0, 1]}}"],
     "searcher.startup_trials: Input should be greater than or equal to 1\n"),
    (["replay", "results/crafted"], "ran with scheduler fifo; replay follows the schedule a population (scheduler pbt "
                                    "or pb2) discovered\n"),
    (["replay", "results/crafted", "--seeds", "0"], "--seeds"),
    (["run", "study.yaml", "--set", "scheduler.mutations={search.arch.lr: {grid: [1.0e-3]}}"],
     "scheduler.mutations: read by PBT and PB2 only, and scheduler.name is fifo; set scheduler.name=pbt or drop "
     "scheduler.mutations\n"),
    # resume
    (["resume", "missing"], "is not a study folder (no study.yaml)"),
    (["resume", "results/empty"], "is not a study folder (no study.yaml)"),
    (["resume", "results/damaged"], "is damaged (not YAML)"),
    (["resume", "results/nopkl"], "Tune's tuner.pkl is missing"),
    (["resume", "results/s"], "results/s: the study never started (Tune wrote no state: the run that made it "
                              "stopped before Tune began); start it afresh: run the command that made it (run, "
                              "retrain or replay) again with --overwrite\n"),
    (["resume", "results/notune"], "Tune's tuner.pkl is missing (Tune restores a study from it); `snas-study "
                                   "status`, `analyze` and `report` still read what it holds\n"),
    (["resume", "results/badpkl"], "Tune's tuner.pkl is damaged (not a whole pickle)"),
    (["resume", "results/nostate"], "Tune's experiment state (experiment_state-*.json) is missing"),
    (["resume", "results/badstate"], "is damaged (has no trial_data list)"),
    (["resume", "results/badsearcher"], "basic-variant-state-2026-12-01_09-12-35.json is damaged (not a whole pickle)"),
    (["resume", "results/optuna_nostate"], "its Optuna's TPE searcher's state (optuna-searcher-*.json) is missing"),
    (["resume", "results/optuna_badstate"], "its searcher's state optuna-searcher-2026-12-01_09-12-35.json is damaged"),
    (["resume", "results/optuna_pickled"], "its searcher's state optuna-searcher-2026-12-01_09-12-35.json cannot be "
     "continued from (it holds the TPE sampler as a pickle, as versions before this one saved it, and a pickle in a "
     "study folder is never loaded)"),
    (["resume", "results/optuna_badstreams"], "cannot be continued from (its tpe_random_streams.random is not a "
     "Mersenne Twister state)"),
    (["status", "results/dupkeys"], "is damaged (not YAML): duplicate key 'name' (first given on line"),
    # status, analyze, report, best
    (["status", "missing"], "does not exist"),
    (["status", "afile"], "is a file; give the study folder"),
    (["status", "results/damaged"], "is damaged (not YAML)"),
    (["status", "results/binary"], "is damaged: not UTF-8 text"),
    (["status", "results/s", "--metric", "bogus"], "bogus"),
    (["status", "results/piped"], "study.yaml is a named pipe, not a file"),
    (["best", "results/linked"], "study.yaml is a symbolic link (to ../s/study.yaml); links are not followed"),
    (["analyze", "results/enormous"], "study.yaml is 1,048,577 bytes, over the 1 MiB cap for such a file"),
    (["analyze", "results/linked_plots"], "plots is a symbolic link; the analysis replaces its own folder whole"),
    (["report", "results/report_folder"], "report.html is a folder, not the file the analysis writes"),
    (["analyze", "results/s", "--metric", "bogus"], "bogus"),
    (["analyze", "results/s", "--top", "0"], "argument --top: must be at least 1, got 0"),
    (["analyze", "results/s", "--scope", "middle"], "argument --scope: invalid choice: 'middle'"),
    (["report", "results/s", "--out", "page.html"], "--out page.html exists and was not written by this command"),
    (["report", "results/s", "--out", "/proc/r.html"], "--out /proc/r.html: cannot write in /proc"),
    (["report", "results/s", "--out", "results"], "--out results is a folder"),
    (["best", "missing"], "does not exist"),
    (["best", "results/s"], "no trial of"),
    (["best", "results/s", "--top", "x"], "argument --top: 'x' is not a whole number"),
    # retrain
    (["retrain", "results/crafted", "--set", "retrain.settings.lr=fast"],
     "invalid retrain settings: retrain.settings.lr: Input should be a valid number"),
    (["retrain", "missing"], "does not exist"),
    (["retrain", "results/s", "--seeds", "0"], "argument --seeds: must be at least 1, got 0"),
    (["retrain", "results/crafted", "--set", "name=" + "n" * 220], "name is 220 characters long; at most 208"),
    # search
    (["search", *SEARCH], "say where to write the search with --out DIR"),
    (["search", *SEARCH, "--out", "afile"], "--out afile is a file; name a folder"),
    (["search", *SEARCH, "--out", "afile/run"], "afile is a file, so no folder can be made there"),
    (["search", *SEARCH, "--out", "/proc/run"], "--out /proc/run: cannot write in /proc"),
    (["search", *SEARCH, "--out", "run"], "run already holds a search (config.yaml, checkpoint.pt)"),
    (["search", "--epochs", "-3", "--out", "new"], "invalid search settings: epochs"),
    (["search", "--method", "nas", "--out", "new"], "method"),
    (["search", "--compile", "fast", "--out", "new"],
     "compile: Input should be 'off', 'default', 'reduce-overhead' or 'max-autotune'"),
    (["search", "--method", "darts", "--set", "second_order=true", "--compile", "default", "--out", "new"],
     "second_order evaluates the supernet with substituted weights"),
    (["search", "--batch-size", "many", "--out", "new"], "argument --batch-size: invalid int value: 'many'"),
    (["search", "--config", "binary.yaml", "--out", "new"], "is not a text file (not UTF-8)"),
    (["search", "--config", "study.yaml", "--out", "new"], "is a study file"),
    (["search", "--config", "results", "--out", "new"], "is a folder; give a YAML file"),
    (["search", *SEARCH, "--layers", "100000", "--out", "new"], "a 100000-cell search network with C=16 at batch"),
    (["search", "--dataset", "imagefolder", "--set", "data.root=images", "--out", "new"],
     "images/dog/3.png: empty file; remove or replace it"),
    (["search", "--resume", "missing"], "does not exist"),
    (["search", "--resume", "run"], "is not a readable checkpoint"),
    (["search", "--resume", "payload_run"], "is not a readable checkpoint"),
    (["search", "--resume", "run", "--epochs", "5"], "drop --epochs"),
    (["search", *SEARCH, "--snas", "--resource_efficient", "--method", "bogus", "--out", "new"],
     "argument --method: invalid choice: 'bogus'"),
    (["search", *SEARCH, "--out", "n" * 300], "a file name is too long for the file system"),
    # train
    (["train", "--out", "new"], "say which genotype to train"),
    (["train", "NOPE", "--out", "new"], "'NOPE' is not a catalogue name"),
    (["train", "DARTS_V2", "--dataset", "digits", "--init-channels", "100000", "--out", "new"],
     "a 20-cell cifar network with C=100000 at batch 96 needs about"),
    (["train", "DARTS_V2", "--dataset", "nope", "--out", "new"], "dataset"),
    (["train", "DARTS_V2", "--compile", "max_autotune", "--out", "new"], "compile: Input should be 'off'"),
    (["train", "--resume", "run"], "is not a readable checkpoint"),
    (["train", "--resume", "foreign.pt"], "foreign.pt"),
    (["train", "DARTS_V2", "--out", "run"],
     "run already holds a search, not a training run (config.yaml, checkpoint.pt)"),
    # profile
    (["profile", "DARTS_V2", "--layers", "100000"], "a 100000-cell network with C=36 needs about"),
    (["profile", "DARTS_V2", "--init-channels", "7"], "--init-channels must be even"),
    (["profile", "DARTS_V2", "--layers", "2"], "--layers must be at least 3"),
    (["profile", "binary.yaml"], "is not a genotype file (not UTF-8 text"),
    (["profile", "DARTS_V2", "--dataset", "mnist"], "argument --dataset: invalid choice: 'mnist'"),
    (["profile", "DARTS_V2", "--input", "1x1x1"], "images of 1×1 pixels are too small or oddly sized for the cifar"),
    (["profile", "DARTS_V2", "--dataset", "imagenet", "--input", "3x4x4"],
     "halves the resolution 5 times, so height and width must be multiples of 32"),
    (["profile", "NB201_GDAS", "--input", "3x2x2"], "for the cifar network of 3 stages of 5 cells"),
    # draw
    (["draw", "DARTS_V2", "--out", "cat.png"], "cat.png exists and was not written by this command"),
    (["draw", "DARTS_V2"], "DARTS_V2.svg exists and was not written by this command"),
    (["draw", "DARTS_V2", "--out", "/proc/x.png"], "--out /proc/x.png: cannot write in /proc"),
    (["draw", "DARTS_V2", "--out", "results"], "--out results is a folder"),
    (["draw", "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[], reduce_concat=[2])",
      "--out", "new.png"], "a cell needs 8 (op, input) pairs"),
    # retrain's proxy baseline (refused before anything is scored)
    (["retrain", "results/s", "--random", "2", "--proxy", "synflow", "--pool", "1"],
     "--pool 1 is smaller than the 2 cell(s) the proxy must pick (--random 2)"),
    (["retrain", "results/s", "--random", "2", "--proxy", "zico", "--pool", "5"], "--proxy: unknown proxy 'zico'"),
    (["retrain", "results/s", "--pool", "5"], "--pool 5 needs --proxy NAME"),
    # proxies
    (["proxies", "DARTS_V2", "--proxy", "zico"], "--proxy: unknown proxy 'zico'; choose from grad_norm, snip, "
                                                 "synflow, naswot, params, macs"),
    (["proxies", "NOPE"], "'NOPE' is not a catalogue name"),
    (["proxies", "DARTS_V2", "--batch-size", "1"], "--batch-size must be at least 2"),
    (["proxies", "DARTS_V2", "--batch-size", "5000"], "the training split has 1438 images, fewer than one batch"),
    (["proxies", "DARTS_V2", "--dataset", "nope"], "--dataset: unknown data set 'nope'; choose from digits"),
    (["proxies", "DARTS_V2", "--init-channels", "7"], "--init-channels must be even"),
    (["proxies", "DARTS_V2", "--layers", "100000"], "a 100000-cell cifar network with C=36 at batch 64 needs about"),
    (["proxies", "DARTS_V2", "--out", "afile"], "--out afile is a file; name a folder"),
    (["proxies", "DARTS_V2", "--out", "tables"], "tables/proxies.csv exists and was not written by this command"),
    (["proxies", "results/s"], "has written an intact genotype yet; nothing to score"),
    # inspect
    (["inspect", "missing.pt"], "does not exist"),
    (["inspect", "garbage.pt"], "is not a readable checkpoint"),
    (["inspect", "foreign.pt"], "is a torch file but not an snas-study checkpoint"),
    (["inspect", "payload.pt"], "is not a readable checkpoint"),
    (["inspect", "results/empty"], "results/empty holds no checkpoint.pt, nor the checkpoint_* folders of a study"),
    (["inspect", "ck.pt", "--draw"], "ck_cells.png exists and was not written by this command"),
    (["inspect", "ck.pt", "--draw", "--out", "/proc/c.png"], "--out /proc/c.png: cannot write in /proc"),
    (["inspect", "ck.pt", "--out", "c.png"], "add --draw"),
    # no command at all, or an unknown one
    ([], "the following arguments are required: COMMAND"),
    (["serch"], "argument COMMAND: invalid choice: 'serch'"),
]


def checksums(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exited:  # argparse's flag errors
        return exited.code


def test_the_table_covers_every_command_and_enough_cases():
    from harness.cli import COMMANDS

    assert len(CASES) >= 40
    assert set(COMMANDS) <= {argv[0] for argv, _ in CASES if argv}


@pytest.mark.parametrize("argv, fragment", CASES, ids=[" ".join(argv)[:60] or "(none)" for argv, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_no_file(tmp_path, capsys, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    prepare(tmp_path)
    before = checksums(tmp_path)
    code = exit_code(argv)
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.err.startswith("snas-study: error: ") and captured.err.count("\n") == 1, captured.err
    assert fragment in captured.err, captured.err
    assert "Traceback" not in captured.out + captured.err and captured.out == ""
    after = checksums(tmp_path)
    assert {name: after.get(name) for name in before} == before
    assert not (tmp_path / PAYLOAD_RAN).exists()
