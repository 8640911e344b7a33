"""NAS-Bench-201 genotypes through the command line: search, inspect, train, profile, draw, bad strings."""

import json

import pytest
import torch
import yaml
from PIL import Image

from harness.cli import main
from snas.checkpoint import load_checkpoint

GDAS_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|"
TINY_DATA = ["--dataset", "synthetic", "--set", "data.synthetic.classes=4", "--set", "data.synthetic.image_size=8",
             "--set", "data.synthetic.train_images=128", "--set", "data.synthetic.test_images=64"]


def test_search_then_inspect_shows_the_one_cell_and_its_string(tmp_path, capsys, tiny_settings):
    config = tmp_path / "search.yaml"
    config.write_text(yaml.safe_dump(tiny_settings(epochs=1, space="nas-bench-201", method="gdas")))
    assert main(["search", "--config", str(config), "--out", str(tmp_path / "s"), "--quiet"]) == 0
    genotype = json.loads((tmp_path / "s" / "genotype.json").read_text())
    assert genotype["space"] == "nas-bench-201" and genotype["arch"].startswith("|")
    assert f"genotype: {genotype['arch']}" in capsys.readouterr().out

    assert main(["inspect", str(tmp_path / "s")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "genotype (nas-bench-201):" in lines and f"  {genotype['arch']}" in lines
    start = lines.index("α, cell cell (softmax probabilities per edge, * = most probable op):")
    header, rows = lines[start + 1].split(), lines[start + 2: start + 8]
    assert header[1:] == ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    assert [row.split()[0] for row in rows] == ["0→1", "0→2", "1→2", "0→3", "1→3", "2→3"]
    record = load_checkpoint(tmp_path / "s" / "checkpoint.pt")
    shown = torch.tensor([[float(v.rstrip("*")) for v in row.split()[1:]] for row in rows], dtype=torch.float64)
    assert torch.allclose(shown, torch.softmax(record["state"]["alphas"]["cell"].double(), dim=-1), atol=5e-4)


def test_train_a_cell_string_trains_the_benchmark_network(tmp_path, capsys):
    out = tmp_path / "t"
    flags = [*TINY_DATA, "--epochs", "1", "--layers", "3", "--init-channels", "4", "--batch-size", "32",
             "--device", "cpu", "--quiet", "--out", str(out)]
    assert main(["train", GDAS_CELL, *flags]) == 0
    assert "NAS-Bench-201 network, 3 stages of 3 cells × 4 channels" in capsys.readouterr().out
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["genotype"] == {"space": "nas-bench-201", "arch": GDAS_CELL}
    assert (config["auxiliary"], config["drop_path"]) == (False, 0.0)


def test_profile_and_draw_a_catalogue_cell(tmp_path, capsys):
    assert main(["profile", "NB201_DARTS_all_skip", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["params"], report["macs"], report["form"]) == (73_306, 7_783_040, "nas-bench-201")
    assert report["benchmark"]["test_accuracy"] == "54.30"
    assert main(["draw", GDAS_CELL, "--out", str(tmp_path / "cell")]) == 0
    with Image.open(tmp_path / "cell.png") as image:
        assert image.width > image.height > 200
    assert (tmp_path / "cell.svg").read_text().count("nor_conv_3x3") >= 3


@pytest.mark.parametrize("verb", ["profile", "draw", "train"])
def test_a_malformed_cell_string_exits_2_naming_the_token(tmp_path, capsys, verb):
    bad = GDAS_CELL.replace("nor_conv_1x1~0", "nor_conv_5x5~0")
    extra = ["--out", str(tmp_path / "x")] if verb != "profile" else []
    assert main([verb, bad, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("snas-study: error: ") and err.count("\n") == 1
    assert "'nor_conv_5x5~0'" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_profile_text_names_the_benchmark_figures_only_for_its_network(capsys):
    assert main(["profile", "NB201_GDAS"]) == 0
    out = capsys.readouterr().out
    assert "cifar10 network: 3 stages of 5 cells, C=16, 3×32×32 input" in out
    assert "params (M)            1.073" in out and "test accuracy (%)         –  93.51 ± 0.13" in out
    assert "Table 5" in out and "20 cells" not in out
    assert main(["profile", "NB201_GDAS", "--layers", "3"]) == 0
    out = capsys.readouterr().out
    assert "93.51" not in out and "the benchmark's figures are for 5 cells per stage, C=16 only" in out
