"""``snas-study search --workers 2`` (and ``train --workers``): one run on a local 2-rank gloo process group."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from search_helpers import tiny_search_settings

from harness.cli import main


def _config(tmp_path, **overrides):
    path = tmp_path / "search.yaml"
    settings = tiny_search_settings(epochs=2, **overrides)
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.mark.slow
def test_search_on_two_workers_writes_one_run_that_resumes_only_on_two(tmp_path, capfd):
    out = tmp_path / "run"
    assert main(["search", "--config", str(_config(tmp_path)), "--workers", "2", "--out", str(out), "--quiet"]) == 0
    printed = capfd.readouterr().out  # the ranks print, not this process
    assert "on cpu × 2 workers" in printed and "genotype: Genotype(" in printed
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]
    state = torch.load(out / "checkpoint.pt", weights_only=True)["state"]
    assert len(state["generators"]["ranks"]) == 2
    assert main(["search", "--resume", str(out), "--quiet"]) == 2
    assert "written by 2 workers, not 1; resume it with 2 workers" in capfd.readouterr().err


def test_an_uneven_global_batch_is_refused_before_any_worker_starts(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["search", "--config", str(_config(tmp_path)), "--workers", "3", "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err == ("snas-study: error: batch_size 32 is the global batch: split across 3 "
                                       "workers it must be a multiple of 3\n")
    assert not out.exists()


def test_train_refuses_an_uneven_global_batch_before_any_worker_starts(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "DARTS_V2", "--dataset", "digits", "--batch-size", "63", "--workers", "2",
                 "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err == ("snas-study: error: batch_size 63 is the global batch: split across 2 "
                                       "workers it must be a multiple of 2\n")
    assert not out.exists()
