"""`--version`, and flag help that states the defaults the configurations define."""

from __future__ import annotations

import re

import pytest

from harness.cli import main
from snas.config import RetrainConfig, SearchConfig


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and re.fullmatch(r"snas-study \S+\n", capsys.readouterr().out)


@pytest.mark.parametrize("verb, model", [("search", SearchConfig), ("train", RetrainConfig)])
def test_settings_flags_show_the_configuration_defaults(capsys, verb, model):
    with pytest.raises(SystemExit):
        main([verb, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, field in (("--epochs", "epochs"), ("--layers", "layers"), ("--batch-size", "batch_size")):
        default = model.model_fields[field].default
        assert re.search(rf"{flag} \S+ [^-]*\(default: {default}\)", text), flag
    assert "--init-channels INIT_CHANNELS channels of the first cell (default: " \
        f"{model.model_fields['init_channels'].default})" in text
