"""`snas-study proxies` on catalogue names and a study folder at tiny scale (no Ray, seconds)."""

from __future__ import annotations

import pandas as pd
import pytest
from study_folders import trial_id, write_study_folder

from harness.cli import main
from snas.catalogue import CATALOGUE
from snas.data.config import DataConfig
from snas.proxies import PROXIES, ProxySetup, score_genotype
from snas.proxies.batch import proxy_batch
from snas.spaces import space_of
from snas.spaces.base import EvalNetwork

TINY = ["--layers", "3", "--init-channels", "4", "--batch-size", "8", "--seed", "5"]


def test_the_table_holds_the_library_scores_of_each_named_genotype_and_is_replaced_by_a_rerun(tmp_path, capsys):
    assert main(["proxies", "DARTS_V2", "NB201_GDAS", *TINY, "--out", str(tmp_path / "t")]) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "t" / "proxies.csv")
    assert list(table["genotype"]) == ["DARTS_V2", "NB201_GDAS"]
    assert list(table.columns[-len(PROXIES):]) == list(PROXIES)
    assert set(table["input"]) == {"1x8x8"} and set(table["batch_size"]) == {8} and set(table["dataset"]) == {"digits"}
    batch = proxy_batch(DataConfig(dataset="digits"), seed=5, size=8)
    for row in table.itertuples():
        network = EvalNetwork("cifar", 3, 4, 8, 10, 1)
        setup = ProxySetup(network, batch.images, batch.labels, seed=5)
        for name in PROXIES:
            assert getattr(row, name) == pytest.approx(score_genotype(name, CATALOGUE[row.genotype].genotype, setup),
                                                       rel=1e-15)
    assert "wrote" in printed and "naswot: log |det K|" in printed and "ms per genotype" in printed
    assert main(["proxies", "DARTS_V2", "NB201_GDAS", *TINY, "--out", str(tmp_path / "t")]) == 0  # its own: replaced
    assert pd.read_csv(tmp_path / "t" / "proxies.csv").equals(table)


def test_a_study_folder_is_scored_once_per_genotype_at_its_evaluation_scale(tmp_path, capsys):
    folder = write_study_folder(tmp_path)  # trials 0 and 2 derived DARTS_V2, trial 1 DARTS_V1
    assert main(["proxies", str(folder), "--proxy", "params", "--proxy", "synflow", "--batch-size", "8"]) == 0
    table = pd.read_csv(folder / "analysis" / "proxies.csv", keep_default_na=False)
    assert list(table["trials"]) == [f"{trial_id(0)} {trial_id(2)}", trial_id(1)]
    assert list(table["genotype"]) == [trial_id(0), trial_id(1)]  # named by the first trial to find it
    assert list(table.columns[-2:]) == ["params", "synflow"]
    assert set(zip(table["layers"], table["channels"], table["dataset"])) == {(5, 8, "synthetic")}  # eval_layers, ...
    genotype = CATALOGUE["DARTS_V2"].genotype
    profile = space_of(genotype).profile(genotype, family="cifar", channels=8, layers=5, num_classes=4,
                                         in_channels=3, image_size=8)  # the tiny study's synthetic images
    assert table["params"].iloc[0] == profile.params and set(table["input"]) == {"3x8x8"}
    assert "wrote" in capsys.readouterr().out
