"""The official SNAS / DARTS scripts' command lines, pasted into `snas-study search` / `train`."""

from __future__ import annotations

import shlex

from harness.cli import build_parser, main
from harness.commands import search, train
from harness.localrun import _translate_official_flags
from snas.catalogue import CATALOGUE

# The single-GPU search of the official SNAS README, as printed there.
SNAS_SEARCH = """--snas --epochs 150 --seed 6 --layer 8 --init_channels 16 --temp 1 \
--temp_min 0.03 --nsample 1 --temp_annealing --resource_efficient \
--resource_lambda 1e-2 --log_penalty --drop_path_prob 3e-1 --method 'reparametrization' \
--loss --remark "snas_order_layer_8_batch_64_drop_0.3_error_lnR_1e-2_reparam_gpu_1" """


def resolved(verb: str, argv: list[str]):
    """The configuration and output folder the command would run with (nothing trained)."""
    args = build_parser().parse_args([verb, *argv])
    module = {"search": search, "train": train}[verb]
    _translate_official_flags(args, module.COMMAND)
    return module._config_from(args), args.out


def test_the_official_snas_search_command_resolves_to_its_settings(capsys):
    config, out = resolved("search", shlex.split(SNAS_SEARCH) + ["--dataset", "digits", "--epochs", "1"])
    printed = capsys.readouterr().out.splitlines()
    assert (config.method, config.layers, config.init_channels, config.seed, config.epochs) == ("snas", 8, 16, 6, 1)
    assert (config.resource.method, config.resource.log_penalty, config.resource.lambda_) == \
        ("reparametrization", True, 1e-2)
    t = config.temperature
    assert (t.schedule, t.initial, t.min) == ("linear", 1.0, 0.03)
    assert (config.drop_path, config.nsample, config.data.dataset) == (0.3, 1, "digits")
    assert str(out) == "runs/snas_order_layer_8_batch_64_drop_0.3_error_lnR_1e-2_reparam_gpu_1"  # --remark
    assert printed[0] == "note: no effect here: --loss: the resource term is always part of the loss here"
    assert len(printed) == 2 and printed[1].startswith("note: the same run with native flags: snas-study search ")

    native = shlex.split(printed[1].split("snas-study search ", 1)[1])
    assert not any("_" in part for part in native if part.startswith("--"))  # only native spellings
    again, again_out = resolved("search", native)
    assert again == config and again_out == out
    assert capsys.readouterr().out == ""  # a native command gets no note


def test_the_darts_evaluation_command_trains_the_named_genotype():
    config, _ = resolved("train", ["--auxiliary", "--cutout", "--arch", "DARTS_V2", "--learning_rate", "0.05",
                                   "--dataset", "digits", "--save", "runs/eval"])
    assert config.resolved_genotype == CATALOGUE["DARTS_V2"].genotype
    assert (config.auxiliary, config.data.cutout, config.lr) == (True, 16, 0.05)


def test_snas_method_alone_switches_no_constraint_on_and_says_so(capsys):
    config, _ = resolved("search", ["--method", "discrete", "--dataset", "digits", "--out", "x"])
    assert config.resource.method == "none" and config.method == "snas"
    assert "--method discrete: SNAS applies the estimator only with --resource_efficient" in capsys.readouterr().out


def test_a_snas_command_without_resource_efficient_runs_unconstrained_as_the_script_does():
    config, _ = resolved("search", ["--snas", "--layer", "5", "--dataset", "digits", "--out", "x"])
    assert (config.method, config.layers, config.resource.method) == ("snas", 5, "none")
    config, _ = resolved("search", ["--snas", "--resource_efficient", "--method", "discrete", "--dataset", "digits",
                                    "--out", "x"])
    assert config.resource.method == "discrete"


def test_official_flags_are_refused_with_resume(tmp_path, capsys):
    assert main(["search", "--resume", str(tmp_path), "--init_channels", "16"]) == 2
    assert "drop --init_channels" in capsys.readouterr().err
