"""Study folders written by older versions open with every offline command.

Before 0.2 the frozen study.yaml wrote every policy's settings (a FIFO study's ASHA keys, a
random search's grid order) and lacked newer settings (``resource.policy_gradient``), and
trial folders had no ``config.json``: the analysis then derives each trial's settings
through the study, as those versions did.
"""

from __future__ import annotations

import pandas as pd
import yaml
from study_folders import TRIALS, write_study_folder

from harness.cli import main


def _as_an_older_version_wrote_it(folder) -> None:
    study = yaml.safe_load((folder / "study.yaml").read_text())
    study["scheduler"] = {"name": "fifo", "grace_period": 1, "reduction_factor": 2.0, "max_t": None}
    study["searcher"] = {"name": "grid", "num_samples": 1, "seed": 0, "points_to_evaluate": [],
                         "grid_order": "shuffled"}
    study["search"].get("resource", {}).pop("policy_gradient", None)
    (folder / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    assert not list(folder.glob("trial_*/config.json"))


def test_an_older_study_folder_opens_with_status_analyze_report_and_best(tmp_path, capsys):
    folder = write_study_folder(tmp_path / "results", "older")
    _as_an_older_version_wrote_it(folder)
    for command in ("status", "analyze", "report", "best"):
        assert main([command, str(folder)]) == 0, command
    out = capsys.readouterr().out
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert len(trials) == len(TRIALS) and list(trials["configured_epochs"]) == [3, 3, 3]
    assert trials.loc[trials["epochs"] == 1, "stop_reason"].tolist() == ["stopped"]  # FIFO: not an ASHA stop
    assert "#1 trial" in out and (folder / "report.html").is_file()
