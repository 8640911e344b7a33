"""The child-network commands: profile, draw, train (with resume) and inspect, run in-process."""

import json

import pytest
import torch
import yaml
from PIL import Image

from harness.cli import main
from snas.catalogue import CATALOGUE
from snas.checkpoint import load_checkpoint
from snas.retrain import Retrain

TINY_TRAIN = [
    "--dataset", "synthetic", "--epochs", "3", "--layers", "5", "--init-channels", "4", "--batch-size", "32",
    "--seed", "0", "--device", "cpu", "--set", "data.synthetic.classes=4", "--set", "data.synthetic.image_size=8",
    "--set", "data.synthetic.train_images=128", "--set", "data.synthetic.test_images=64",
    "--set", "label_smoothing=0.1", "--quiet",
]


def read_metrics(folder):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def comparable(metrics):
    return [{k: v for k, v in m.items() if k != "epoch_time_s"} for m in metrics]


def test_profile_prints_measured_and_published_figures(capsys):
    assert main(["profile", "DARTS_V2"]) == 0
    out = capsys.readouterr().out
    assert "cifar10 network: 20 cells, C=36, 3×32×32 input, 10 classes" in out
    assert "params (M)         3.349          3.3  auxiliary head excluded" in out
    assert "MACs (M)           528.4" in out and "multiply-accumulates" in out
    assert "2.76 ± 0.09" in out
    assert "note:" not in out

    assert main(["profile", "SNAS_mild"]) == 0
    out = capsys.readouterr().out
    assert "2.661" in out and "2.9" in out
    assert "params 2.66M measured vs 2.9M published" in out


def test_profile_of_a_network_too_large_for_memory_is_refused(monkeypatch, capsys):
    def out_of_memory(*args, **kwargs):  # what PyTorch's CPU allocator raises
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 120000000000 bytes")

    monkeypatch.setattr("snas.spaces.darts.childnet.profile_child", out_of_memory)
    assert main(["profile", "DARTS_V2", "--init-channels", "64"]) == 2  # passed the estimate, then failed
    assert "20-cell network with C=64 does not fit in this machine's memory" in capsys.readouterr().err

    assert main(["profile", "DARTS_V2", "--init-channels", "100000"]) == 2  # refused by the estimate
    err = capsys.readouterr().err
    assert "a 20-cell network with C=100000 needs about " in err and "GiB available" in err

    def bug(*args, **kwargs):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr("snas.spaces.darts.childnet.profile_child", bug)
    with pytest.raises(RuntimeError, match="shape mismatch"):  # other errors are not dressed up as bad input
        main(["profile", "DARTS_V2"])


def test_profile_json(capsys):
    assert main(["profile", "DARTS_V2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["params"], report["macs"]) == (3_349_342, 528_359_040)
    assert report["network"] == {"kind": "cifar", "layers": 20, "channels": 36, "image_size": 32, "num_classes": 10,
                                 "in_channels": 3}
    assert report["published"]["params_m"] == 3.3 and report["published"]["params_agree"] is True

    assert main(["profile", "SNAS_mild", "--dataset", "imagenet", "--layers", "5", "--init-channels", "8",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["network"] == {"kind": "imagenet", "layers": 5, "channels": 8, "image_size": 224,
                                 "num_classes": 1000, "in_channels": 3}
    assert report["published"] is None  # the paper's figures are for 14 cells, C=48
    assert 0 < report["params_m"] < 0.2


@pytest.mark.parametrize("argv, message", [
    (["profile", "DARTS_V3"], "'DARTS_V3' is not a catalogue name, a genotype file (or a folder holding "
                              "genotype.json) or a Genotype(...) text"),
    (["draw", str(CATALOGUE["DARTS_V2"].genotype).replace("dil_conv_3x3", "conv_9x9")],
     "normal: unknown primitive 'conv_9x9'"),
    (["draw", "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[], reduce_concat=[2])"],
     "a cell needs 8 (op, input) pairs (DARTS form) or 14 (edge_all form), got 1"),
    (["profile", "DARTS_V2", "--init-channels", "7"], "--init-channels must be even"),
])
def test_bad_genotype_or_network_exits_2_naming_the_problem(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("snas-study: error: ") and message in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_draw_writes_png_and_svg(tmp_path, capsys):
    assert main(["draw", "SNAS_mild_edge_all", "--out", str(tmp_path / "mild.png")]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "mild.png"), str(tmp_path / "mild.svg")]
    with Image.open(tmp_path / "mild.png") as image:
        assert image.size[0] > image.size[1] > 300
    assert (tmp_path / "mild.svg").read_text().lstrip().startswith("<?xml")


def test_train_is_resumable_after_ctrl_c(tmp_path, capsys, monkeypatch):
    straight = tmp_path / "straight"
    assert main(["train", "DARTS_V2", *TINY_TRAIN, "--out", str(straight)]) == 0
    out = capsys.readouterr().out
    assert "train: DARTS_V2 on synthetic, cifar network, 5 cells × 4 channels" in out
    assert "finished 3 epochs" in out
    assert [m["epoch"] for m in read_metrics(straight)] == [1, 2, 3]
    assert yaml.safe_load((straight / "config.yaml").read_text())["label_smoothing"] == 0.1

    run_epoch = Retrain.run_epoch

    def interrupted(self, on_step=None):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return run_epoch(self, on_step)

    part = tmp_path / "part"
    monkeypatch.setattr(Retrain, "run_epoch", interrupted)
    assert main(["train", "DARTS_V2", *TINY_TRAIN, "--out", str(part)]) == 130
    assert f"interrupted after epoch 1; continue with: snas-study train --resume {part}" in capsys.readouterr().err
    monkeypatch.setattr(Retrain, "run_epoch", run_epoch)

    assert main(["train", "--resume", str(part), "--epochs", "5"]) == 2
    assert "drop --epochs" in capsys.readouterr().err
    assert main(["train", "--resume", str(part), "--quiet"]) == 0
    assert comparable(read_metrics(part)) == comparable(read_metrics(straight))
    mine, theirs = (load_checkpoint(d / "checkpoint.pt")["state"]["model"] for d in (part, straight))
    assert all(torch.equal(mine[k], theirs[k]) for k in theirs)

    assert main(["train", "DARTS_V2", *TINY_TRAIN, "--out", str(part)]) == 2
    assert "already holds a training run" in capsys.readouterr().err


def test_train_needs_a_genotype_and_a_valid_one(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "a")]) == 2
    assert "say which genotype to train" in capsys.readouterr().err
    assert main(["train", "NOPE", "--out", str(tmp_path / "b")]) == 2
    assert "'NOPE' is not a catalogue name" in capsys.readouterr().err
    assert main(["train", "DARTS_V2", "--set", "auxiliary_weight=-1", "--out", str(tmp_path / "c")]) == 2
    assert "invalid training settings: auxiliary_weight:" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_inspect_a_search_checkpoint_shows_alpha_as_probabilities(tmp_path, capsys, tiny_settings):
    config = tmp_path / "search.yaml"
    config.write_text(yaml.safe_dump(tiny_settings(epochs=1)))
    assert main(["search", "--config", str(config), "--out", str(tmp_path / "s"), "--quiet"]) == 0
    capsys.readouterr()

    assert main(["inspect", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "kind: search (snas on synthetic), epoch 1 of 1" in out
    assert "search val %" in out and "child val %" in out
    assert "  5 cells × 8 channels on 3×8×8 input, 4 classes: " in out  # the derived genotype at evaluation scale
    record = load_checkpoint(tmp_path / "s" / "checkpoint.pt")
    lines = out.splitlines()
    for cell in ("normal", "reduce"):
        start = lines.index(f"α, {cell} cell (softmax probabilities per edge, * = most probable op):")
        header, rows = lines[start + 1].split(), lines[start + 2: start + 16]
        assert header[1:] == ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                              "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]
        assert [row.split()[0] for row in rows] == ["0→2", "1→2", "0→3", "1→3", "2→3", "0→4", "1→4", "2→4",
                                                    "3→4", "0→5", "1→5", "2→5", "3→5", "4→5"]
        shown = torch.tensor([[float(v.rstrip("*")) for v in row.split()[1:]] for row in rows], dtype=torch.float64)
        expected = torch.softmax(record["state"]["alphas"][cell].double(), dim=-1)
        assert torch.allclose(shown, expected, atol=5e-4)
        assert all(row.count("*") == 1 for row in rows)
    assert f"  {record['state']['history'][-1]['genotype']}" in lines


def test_inspect_a_retrain_checkpoint_and_draw_it(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", "SNAS_mild", *TINY_TRAIN, "--epochs", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(run / "checkpoint.pt"), "--draw"]) == 0
    out = capsys.readouterr().out
    assert "kind: retraining (cifar network on synthetic), epoch 1 of 1" in out
    assert "genotype (DARTS form, catalogue SNAS_mild):" in out
    params_m = load_checkpoint(run)["state"]["history"][-1]["params_m"]
    assert f"  5 cells × 4 channels on 3×8×8 input, 4 classes: {params_m:.3f}M params (auxiliary head excluded)" in out
    assert "  label_smoothing: 0.1" in out
    assert "val %" in out and "test %" in out and "α," not in out
    assert f"drew {run / 'checkpoint_cells.png'}" in out
    assert (run / "checkpoint_cells.png").stat().st_size > 10_000 and (run / "checkpoint_cells.svg").exists()


def test_inspect_refuses_garbage_and_foreign_files(tmp_path, capsys):
    (tmp_path / "garbage.pt").write_bytes(b"\x00not a checkpoint at all")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    for name, message in [("garbage.pt", "is not a readable checkpoint"),
                          ("foreign.pt", "is a torch file but not an snas-study checkpoint"),
                          ("missing.pt", "does not exist")]:
        assert main(["inspect", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("snas-study: error: ") and message in err


@pytest.mark.parametrize("text", ["# notes\nnot a checkpoint\n", '{"normal": []}\n'])
def test_inspect_says_a_text_file_is_no_torch_archive(tmp_path, capsys, text):
    """torch refuses text as it refuses a pickle of Python objects; the message tells them apart."""
    (tmp_path / "notes").write_text(text)
    assert main(["inspect", str(tmp_path / "notes")]) == 2
    assert capsys.readouterr().err == (f"snas-study: error: {tmp_path / 'notes'} is not a readable checkpoint "
                                       f"(corrupt or not a torch file): it is not the zip archive torch.save writes\n")


def test_inspect_of_a_study_trial_folder_shows_its_newest_checkpoint(tmp_path, capsys):
    from snas.checkpoint import save_checkpoint

    genotype = CATALOGUE["DARTS_V2"].genotype.to_dict()
    trial = tmp_path / "trial_ab_00000"
    for epoch in (2, 10, 4):  # checkpoint_000009 sorts after checkpoint_000001, not by creation
        save_checkpoint(trial / f"checkpoint_{epoch - 1:06d}" / "checkpoint.pt", "retrain",
                        {"config": {"epochs": 10, "genotype": genotype}, "epoch": epoch, "genotype": genotype,
                         "state": {"history": []}})
    assert main(["inspect", str(trial)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"checkpoint: {trial / 'checkpoint_000009' / 'checkpoint.pt'}\n") and "epoch 10 of 10" in out
    assert main(["inspect", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"snas-study: error: {tmp_path} holds no checkpoint.pt, nor the checkpoint_* "
                                       f"folders of a study's trial; give a checkpoint file or the folder holding "
                                       f"one\n")
    (trial / "checkpoint_000010").mkdir()  # a save cut short: passed over, as the analysis does
    (trial / "checkpoint_000011").symlink_to(trial / "checkpoint_000001")  # a link: damage, not followed
    assert main(["inspect", str(trial)]) == 0
    assert capsys.readouterr().out.startswith(f"checkpoint: {trial / 'checkpoint_000009' / 'checkpoint.pt'}\n")
    bare = tmp_path / "trial_cd_00000"
    (bare / "checkpoint_000000").mkdir(parents=True)
    assert main(["inspect", str(bare)]) == 2
    assert capsys.readouterr().err == (f"snas-study: error: {bare} holds checkpoint folders but no checkpoint to read "
                                       f"(none holds a checkpoint.pt)\n")


def test_inspect_refuses_damaged_checkpoints_in_one_line(tmp_path, capsys):
    from snas.checkpoint import save_checkpoint

    genotype = CATALOGUE["DARTS_V2"].genotype.to_dict()
    cases = {
        "history.pt": ({"config": {}, "epoch": 1, "genotype": genotype, "state": {"history": "oops"}},
                       "its metric history is missing or not a list of epochs"),
        "state.pt": ({"config": {}, "epoch": 1, "genotype": genotype, "state": [1, 2]},
                     "its metric history is missing or not a list of epochs"),
        "genotype.pt": ({"config": {}, "epoch": 1, "genotype": {**genotype, "normal": "abc"}, "state": {"history": []}},
                        "a cell must be a list of (op, input) pairs, got 'abc'"),
    }
    for name, (payload, _) in cases.items():
        save_checkpoint(tmp_path / name, "search", payload)
    torch.save({"format": "snas-study-checkpoint", "version": 1}, tmp_path / "kindless.pt")
    cases["kindless.pt"] = (None, "its kind is None, not search or retrain")
    (tmp_path / "empty.pt").write_bytes(b"")
    cases["empty.pt"] = (None, "is not a readable checkpoint (corrupt or not a torch file): EOFError")
    for name, (_, message) in cases.items():
        assert main(["inspect", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("snas-study: error: ") and message in err and err.count("\n") == 1, err


@pytest.mark.parametrize("argv", [
    ["draw", "DARTS_V2", "--out", "{file}/cells.png"],
    ["draw", "DARTS_V2", "--out", "{folder}"],
    ["train", "DARTS_V2", "--dataset", "digits", "--epochs", "1", "--out", "{file}"],
    ["search", "--dataset", "digits", "--epochs", "1", "--out", "{file}/run"],
])
def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path, capsys, argv):
    afile, folder = tmp_path / "afile", tmp_path / "folder"
    afile.write_text("kept\n")
    folder.mkdir()
    argv = [a.format(file=afile, folder=folder) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("snas-study: error: --out ") and ("is a file" in err or "is a folder" in err), err
    assert afile.read_text() == "kept\n" and not any(folder.iterdir())


def test_a_binary_genotype_file_is_refused(tmp_path, capsys):
    (tmp_path / "g.bin").write_bytes(b"\x9c\xff\x00")
    assert main(["profile", str(tmp_path / "g.bin")]) == 2
    assert "is not a genotype file (not UTF-8 text" in capsys.readouterr().err
