"""A checkpoint with an invalid record is one error line on every command that reads it."""

import pytest

from harness.cli import main
from snas.catalogue import CATALOGUE
from snas.checkpoint import save_checkpoint

GENOTYPE = CATALOGUE["DARTS_V2"].genotype.to_dict()


@pytest.mark.parametrize("kind, config, argv", [
    ("search", {"epochs": -3}, ["search", "--resume", "{run}"]),
    ("retrain", {"genotype": GENOTYPE, "epochs": -3}, ["train", "--resume", "{run}"]),
    ("search", {"epochs": -3}, ["inspect", "{run}"]),
])
def test_an_invalid_config_in_a_checkpoint_exits_2_in_one_line(tmp_path, capsys, kind, config, argv):
    run = tmp_path / "run"
    run.mkdir()
    save_checkpoint(run / "checkpoint.pt", kind, {
        "config": config, "split": {"fingerprint": "x"}, "epoch": 0, "genotype": GENOTYPE,
        "state": {"epoch": 0, "history": []}})
    assert main([arg.format(run=run) for arg in argv]) == 2
    out, err = capsys.readouterr()
    assert err == (f"snas-study: error: {run / 'checkpoint.pt'} holds an invalid {kind} config: "
                   f"epochs: Input should be greater than or equal to 1\n")
    assert "epochs: -3" not in out  # inspect shows nothing of a config it refuses
