"""The official-code variant of bench/search_step.py: its refusals, and the CPU build of a
network written for one GPU (a stand-in checkout; the real one is not part of the tests)."""

import sys

import pytest
import torch

from bench import search_step
from bench.official_supernet import OFFICIAL_FILES, load_official, missing_files


def _run_main(monkeypatch, capsys, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["search_step.py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        search_step.main()
    return exit_info.value.code, capsys.readouterr().err


def test_a_folder_that_is_no_official_checkout_is_refused_in_one_line(monkeypatch, capsys, tmp_path):
    (tmp_path / "SNAS").mkdir()
    (tmp_path / "SNAS" / "model_search.py").write_text("")
    code, err = _run_main(monkeypatch, capsys, "--configs", "a", "--official", str(tmp_path))
    assert code == 2
    assert err == (f"search_step: error: {tmp_path} is not a checkout of SNAS-Series/SNAS-Series "
                   "(no SNAS/operations.py)\n")


def test_the_official_variant_needs_a_checkout(monkeypatch, capsys):
    code, err = _run_main(monkeypatch, capsys, "--configs", "a", "--variants", "official", "snas")
    assert (code, err) == (2, "search_step: error: the official variant needs --official CHECKOUT\n")


_STAND_IN = '''
import torch
from operations import Op


class Network(torch.nn.Module):
    def __init__(self, C, num_classes, layers, criterion, args, rank, world_size):
        super().__init__()
        self.device = torch.device("cuda")
        self.alpha = torch.zeros(2, 3).to(self.device).cuda().requires_grad_()
        self.op = Op(C)
        self.layers, self.snas = layers, args.snas
'''


def test_a_network_written_for_one_gpu_is_built_on_the_cpu(tmp_path, monkeypatch):
    """``torch.device("cuda")`` and ``.cuda()`` in the official constructors name the CPU
    while the network is built, and only then."""
    for name in OFFICIAL_FILES:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "SNAS" / "model_search.py").write_text(_STAND_IN)
    (tmp_path / "SNAS" / "operations.py").write_text(
        "import torch\n\nclass Op(torch.nn.Module):\n    def __init__(self, C):\n        super().__init__()\n"
        "        self.buffer = torch.zeros(C).to(torch.device('cuda'))\n")
    for module in ("model_search", "operations"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert missing_files(tmp_path) == []
    cuda = torch.Tensor.cuda

    net = load_official(tmp_path, layers=5, init_channels=8, num_classes=10)

    assert (net.layers, net.snas) == (5, True)
    assert net.device == torch.device("cpu") and net.alpha.device.type == "cpu"
    assert net.op.buffer.shape == (8,) and net.op.buffer.device.type == "cpu"
    assert sys.modules["model_search"].torch is torch and sys.modules["operations"].torch is torch
    assert torch.Tensor.cuda is cuda


@pytest.mark.parametrize(("variant", "config", "runs"), [
    ("official", "a", True), ("official", "nb201", False),        # a DARTS-space network
    ("official_gdas", "a6", True), ("official_gdas", "a", False),  # 3N cells only
    ("baseline", "b", True), ("baseline", "nb201", False), ("gdas", "nb201", True),
])
def test_each_official_variant_runs_where_its_network_exists(variant, config, runs):
    assert search_step.runs_at(variant, config) is runs


def test_the_official_gdas_network_is_refused_at_a_depth_it_cannot_have(tmp_path):
    from bench.official_gdas import load_official_gdas

    with pytest.raises(ValueError, match="^the official GDAS network has a multiple of 3 cells, not 5$"):
        load_official_gdas(tmp_path, layers=5, init_channels=8, num_classes=10)
