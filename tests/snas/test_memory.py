"""The memory estimate (snas.memory): exact parameter counts, an upper-ish peak, refusals."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from snas.catalogue import CATALOGUE
from snas.errors import UserInputError
from snas.memory import check_fits
from snas.spaces.darts.childnet import ChildNetwork
from snas.spaces.darts.genotype import LARGEST_GENOTYPE
from snas.spaces.darts.memory import child_memory, supernet_memory
from snas.spaces.darts.supernet import SuperNet

HERE = Path(__file__).parent


def real_size(net):
    return sum(p.numel() for p in net.parameters()) + sum(b.numel() for b in net.buffers())


@pytest.mark.parametrize("genotype, kwargs", [
    ("DARTS_V2", dict(channels=16, layers=8, auxiliary=True)),
    ("SNAS_mild_edge_all", dict(channels=8, layers=5, image_size=8, in_channels=1, num_classes=4)),
    ("GDAS_V1", dict(family="imagenet", channels=16, layers=5, image_size=64, num_classes=100, auxiliary=True)),
])
def test_child_parameters_are_counted_as_built(genotype, kwargs):
    genotype = CATALOGUE[genotype].genotype
    with torch.device("meta"):
        net = ChildNetwork(genotype, **kwargs)
    assert child_memory(genotype, **kwargs).params == pytest.approx(real_size(net), rel=2e-3)


def test_supernet_parameters_are_counted_as_built():
    with torch.device("meta"):
        net = SuperNet(8, 10, 5, in_channels=1)
    assert supernet_memory(8, 10, 5, in_channels=1, image_size=8).params == pytest.approx(real_size(net), rel=2e-3)


def test_the_estimate_grows_with_every_size_the_user_sets():
    base = child_memory(LARGEST_GENOTYPE, channels=8, layers=6, image_size=16)
    assert base.training_bytes(64, 1) > base.training_bytes(32, 1) > base.inference_bytes()
    for bigger in (dict(channels=16, layers=6, image_size=16), dict(channels=8, layers=12, image_size=16),
                   dict(channels=8, layers=6, image_size=32)):
        assert child_memory(LARGEST_GENOTYPE, **bigger).training_bytes(32, 1) > base.training_bytes(32, 1)


@pytest.mark.parametrize("spec", [
    {"genotype": "DARTS_V2", "channels": 16, "layers": 8, "image_size": 32, "batch": 48},
    {"genotype": "SNAS_mild", "channels": 24, "layers": 8, "image_size": 32, "batch": 32, "auxiliary": True},
    {"channels": 8, "layers": 5, "num_classes": 10, "image_size": 16, "batch": 64},
])
def test_the_estimate_is_within_a_small_factor_above_the_real_peak(spec):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(HERE / "memory_peak.py"), json.dumps(spec)], env=env,
                         capture_output=True, text=True, timeout=300, check=True)
    measured = json.loads(run.stdout)
    assert measured["peak"] > 50 * 2**20  # large enough for the resident set to measure it
    assert 1.0 <= measured["estimate"] / measured["peak"] <= 2.5, measured


def test_a_network_that_cannot_fit_is_refused_with_the_estimate_and_the_limit(monkeypatch):
    monkeypatch.setattr("snas.memory.available_bytes", lambda device: 3 * 2**30)
    check_fits(2 * 2**30, torch.device("cpu"), "a net", "shrink it")
    with pytest.raises(UserInputError, match=r"^a net needs about 4\.0 GiB of memory .*, but this machine has "
                                             r"3\.0 GiB available; shrink it$"):
        check_fits(4 * 2**30, torch.device("cpu"), "a net", "shrink it")


def test_this_machine_reports_its_available_memory():
    from snas.memory import available_bytes

    with open("/proc/meminfo") as meminfo:
        total = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemTotal:"))
    assert 0 < available_bytes(torch.device("cpu")) <= total


def test_the_side_and_the_class_count_are_never_mixed(monkeypatch):
    """The issue's search (2 classes of 16×16 images, batch 4, 3 cells, C=4) needs about
    0.1 GiB; read with a 1000-pixel side, as when 1000 classes stood beside the side in one
    tuple, it needed 64.1 GiB.  A class count of 1000 changes only the classifier."""
    from snas.config import SearchConfig
    from snas.data.sets import InputSpec
    from snas.search import check_search_fits

    monkeypatch.setattr("snas.memory.available_bytes", lambda device: 2**30)
    issue = SearchConfig(layers=3, init_channels=4, batch_size=4)
    check_search_fits(issue, InputSpec(3, 16, 16, 2), torch.device("cpu"))
    check_search_fits(issue, InputSpec(3, 16, 16, 1000), torch.device("cpu"))
    with pytest.raises(UserInputError, match=r"^a 3-cell search network with C=4 at batch 4 needs about 64\.1 GiB "):
        check_search_fits(issue, InputSpec(3, 1000, 1000, 1000), torch.device("cpu"))
    with pytest.raises(UserInputError, match=r"^a 8-cell search network with C=64 at batch 256 needs about .* "
                                             r"but this machine has 1\.0 GiB available; use fewer cells"):
        check_search_fits(SearchConfig(layers=8, init_channels=64, batch_size=256), InputSpec(3, 16, 16, 2),
                          torch.device("cpu"))
