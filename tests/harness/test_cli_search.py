import json

import pytest
import yaml
from search_helpers import tiny_search_settings

from harness.cli import main
from snas.config import SearchConfig
from snas.search import Search


def write_config(path, **overrides):
    settings = tiny_search_settings(**overrides)
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.mark.parametrize("flags, message", [
    (["--set", "method=foo"], "method: unknown search method 'foo'; choose from snas, gdas, darts"),
    (["--set", "temperature.schedule=cubic"], "temperature.schedule: unknown schedule 'cubic'"),
    (["--set", "temperature.min=2"], "temperature: min (2.0) must not exceed initial (1.0)"),
    (["--set", "resource.lambda=-1"], "resource.lambda: Input should be greater than or equal to 0"),
    (["--set", "temperature.anneal_rate=1.5"], "temperature.anneal_rate: Input should be less than or equal to 1"),
    (["--set", "temperature.anneal_rate=0"], "temperature.anneal_rate: Input should be greater than 0"),
    (["--set", "resource.method=magic"], "resource.method: unknown penalty method 'magic'"),
    (["--set", "resource.policy_gradient=pathwise"],
     "resource.policy_gradient: unknown policy-gradient estimator 'pathwise'; choose from score_function, official"),
    (["--set", "tempreature.initial=2"], "tempreature: unknown key"),
    (["--dataset", "mnist"], "data.dataset: unknown data set 'mnist'"),
    (["--set", "init_channels=7"], "init_channels: must be even"),
    (["--set", "second_order=true"], "second_order applies to method darts only"),
])
def test_bad_settings_exit_2_naming_the_key(tmp_path, capsys, flags, message):
    config = write_config(tmp_path / "c.yaml")
    code = main(["search", "--config", str(config), "--out", str(tmp_path / "out"), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.startswith("snas-study: error: invalid search settings:")
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_search_writes_its_outputs_and_resumes(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", epochs=2)
    assert main(["search", "--config", str(config), "--out", str(tmp_path / "full"), "--quiet"]) == 0
    full = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in full] == [1, 2]
    genotype = json.loads((tmp_path / "full" / "genotype.json").read_text())
    assert str(Search.restore(tmp_path / "full").genotype) == full[-1]["genotype"]
    assert set(genotype) == {"normal", "normal_concat", "reduce", "reduce_concat"}

    # an interrupted run: one finished epoch on disk, as the CLI leaves it
    settings = yaml.safe_load(config.read_text())
    partial = Search(SearchConfig.model_validate(settings))
    partial.run_epoch()
    part_dir = tmp_path / "part"
    partial.save(part_dir / "checkpoint.pt")
    assert main(["search", "--resume", str(part_dir), "--quiet"]) == 0
    resumed = [json.loads(line) for line in (part_dir / "metrics.jsonl").read_text().splitlines()]
    drop = lambda ms: [{k: v for k, v in m.items() if k not in ("epoch_time_s", "images_per_s")} for m in ms]
    assert drop(resumed) == drop(full)


def test_existing_output_is_not_overwritten(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", epochs=1)
    out = tmp_path / "out"
    assert main(["search", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    before = (out / "metrics.jsonl").read_bytes()
    assert main(["search", "--config", str(config), "--out", str(out), "--quiet"]) == 2
    assert "already holds a search" in capsys.readouterr().err
    assert (out / "metrics.jsonl").read_bytes() == before


def test_resume_refuses_new_settings_and_garbage(tmp_path, capsys):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert main(["search", "--resume", str(tmp_path), "--quiet"]) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err
    assert main(["search", "--resume", str(tmp_path), "--epochs", "9"]) == 2
    assert "--resume continues the run exactly as it was configured; drop --epochs" in capsys.readouterr().err


def test_a_full_disk_is_one_line_naming_the_intact_checkpoint_and_the_run_resumes(tmp_path, capsys, monkeypatch):
    """The disk fills up while epoch 2's checkpoint is written: exit 1, one line, epoch 1's
    checkpoint intact, no temporary file left; with space again, --resume finishes the run
    as if nothing had happened."""
    import errno

    import snas.checkpoint
    from snas.checkpoint import load_checkpoint

    config = write_config(tmp_path / "c.yaml", epochs=2)
    assert main(["search", "--config", str(config), "--out", str(tmp_path / "full"), "--quiet"]) == 0
    saves = []
    real_save = snas.checkpoint.torch.save

    def fill_up(record, handle):
        saves.append(record["epoch"])
        if record["epoch"] == 2:
            handle.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(record, handle)

    monkeypatch.setattr(snas.checkpoint.torch, "save", fill_up)
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["search", "--config", str(config), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == (f"snas-study: error: no space left on the device writing {out / 'checkpoint.pt'} after epoch 2; "
                   f"the checkpoint of epoch 1 is intact: free space and continue with: snas-study search --resume "
                   f"{out}\n")
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 1
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    monkeypatch.setattr(snas.checkpoint.torch, "save", real_save)
    assert main(["search", "--resume", str(out), "--quiet"]) == 0
    drop = lambda path: [{k: v for k, v in json.loads(line).items() if k not in ("epoch_time_s", "images_per_s")}
                         for line in path.read_text().splitlines()]
    assert drop(out / "metrics.jsonl") == drop(tmp_path / "full" / "metrics.jsonl")


def test_a_file_system_refusal_outside_the_run_loop_is_one_line(tmp_path, capsys, monkeypatch):
    import errno

    import harness.commands.status

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(harness.commands.status, "run", full)
    # the handler is bound when the parser is built, so patch before main builds it
    assert main(["status", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (f"snas-study: error: no space left on the device ({tmp_path / 'x'}): nothing "
                                       f"was half-written (every file is written to a temporary name, then moved); "
                                       f"free space and run the command again\n")


def test_ctrl_c_anywhere_is_exit_130_without_a_traceback(tmp_path, capsys, monkeypatch):
    import harness.cli
    import harness.commands.status

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(harness.commands.status, "run", interrupted)
    assert main(["status", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "snas-study: interrupted\n"
    monkeypatch.setattr(harness.cli, "import_module", interrupted)  # while the verb's module is imported
    assert main(["analyze", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "snas-study: interrupted\n"


def test_a_reader_that_leaves_early_ends_the_command_quietly():
    """`snas-study status ... | head`: a write to a pipe whose reader has gone ends the command
    with exit 1 and nothing on stderr (a BrokenPipeError is an OSError, and the OSError
    handler, which re-raises what it does not know, must not take it)."""
    import subprocess
    import sys

    script = ("import sys\nimport harness.commands.status\nfrom harness.cli import main\n"
              "def gone(args):\n    raise BrokenPipeError(32, 'Broken pipe')\n"
              "harness.commands.status.run = gone\nsys.exit(main(['status', '.']))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (1, "")
