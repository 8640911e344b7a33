"""Running one resumable ``snas`` loop (a search or a retraining) in a folder, without Ray.

``snas-study search`` and ``snas-study train`` differ only in the loop they build.  What
they share lives here: settings from flags plus ``--set`` overrides, the output-folder
rules (``--out`` never silently replaces a run, ``--resume DIR`` takes no new settings),
the outputs (config.yaml once; checkpoint.pt, metrics.jsonl and genotype.json after every
epoch, each written atomically), and the epoch loop with its progress bar, its one-line
summaries, its TensorBoard events (the run is the output folder) and the Ctrl-C message
that says how to continue.

The flags of ``search`` and ``train`` are built from here, so their ``--help`` loads no
torch: the loops are imported where they run.
"""

from __future__ import annotations

import argparse
import errno
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.arguments import load_yaml
from harness.errors import invalid
from harness.kinds import KINDS, TrialKind
from harness.official import OFFICIAL_PENALTIES, add_official_arguments, given_official_flags, notes, translate
from harness.outputs import check_output_folder
from harness.overrides import apply_overrides
from harness.progress import EpochProgress
from harness.studyfolder import CHECKPOINT_FILE, GENOTYPE_FILE, METRICS_FILE, RUN_CONFIG_FILE, metrics_jsonl
from snas.atomic import atomic_write_text
from snas.errors import DiskFull, UserInputError
from snas.threads import use_available_cpus

if TYPE_CHECKING:
    from snas.run import EpochRun

OUTPUTS = (RUN_CONFIG_FILE, METRICS_FILE, GENOTYPE_FILE, CHECKPOINT_FILE)


L = TypeVar("L", bound="EpochRun")


@dataclass(frozen=True)
class RunCommand:
    """What ``search`` or ``train`` runs: a loop of a trial kind, configured by its flags."""

    kind: TrialKind
    flags: dict[str, str]
    """The settings flags: attribute -> dotted config key."""

    @property
    def verb(self) -> str:
        """The ``snas-study`` verb that runs (and continues) it."""
        return self.kind.command

    @property
    def noun(self) -> str:
        return self.kind.noun


def add_run_arguments(parser: argparse.ArgumentParser, command: RunCommand) -> None:
    """``--set``, ``--out``, ``--resume``, ``--overwrite`` and ``--quiet``."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="any other setting, e.g. --set data.cutout=16 (repeatable)")
    parser.add_argument("--out", type=Path, help="output folder")
    parser.add_argument("--resume", type=Path, metavar="DIR", help=f"continue the interrupted {command.noun} in DIR")
    parser.add_argument("--overwrite", action="store_true", help=f"replace an existing {command.noun} in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_official_arguments(parser, command.kind.name)


def config_default(model: type[BaseModel], key: str) -> Any:
    """The default of the dotted setting ``key`` of ``model``, as the configuration defines it
    (help texts quote it instead of restating the number)."""
    head, _, rest = key.partition(".")
    field = model.model_fields[head]
    if rest:
        nested = field.annotation
        assert isinstance(nested, type) and issubclass(nested, BaseModel), f"{head} is not a section"
        return config_default(nested, rest)
    return field.get_default(call_default_factory=True)


def default_help(model: type[BaseModel], key: str, text: str = "") -> str:
    """``text`` followed by the setting's default, e.g. ``cells in the supernet (default: 8)``."""
    return f"{text} (default: {config_default(model, key)})".strip()


def given_flags(args: argparse.Namespace, flags: dict[str, str]) -> list[str]:
    """The command-line spelling of the settings flags the user gave."""
    return [f"--{flag.replace('_', '-')}" for flag in flags if getattr(args, flag) is not None]


def validated_settings(command: RunCommand, base: dict[str, Any], args: argparse.Namespace, what: str) -> Any:
    """``base`` with the command's flags and ``--set`` applied, validated as its kind's configuration."""
    given = [f"{key}={getattr(args, flag)}" for flag, key in command.flags.items() if getattr(args, flag) is not None]
    data = apply_overrides(base, given + args.overrides)
    try:
        return command.kind.config_model().model_validate(data)
    except ValidationError as err:
        raise invalid(err, what, scope=command.kind.section) from None


def _write_outputs(out: Path, loop: EpochRun, writer: bool, checkpoint: bool = True) -> None:
    """The outputs after an epoch; every rank of a data-parallel run takes part in the
    checkpoint, only the ``writer`` (rank 0) writes."""
    if checkpoint:
        loop.save(out / CHECKPOINT_FILE, write=writer)
    if writer:
        atomic_write_text(out / METRICS_FILE, metrics_jsonl(loop.history))
        atomic_write_text(out / GENOTYPE_FILE, json.dumps(loop.genotype.to_dict(), indent=2) + "\n")


def _save_epoch(out: Path, loop: EpochRun, command: RunCommand) -> None:
    """The outputs after an epoch; a full disk is said in one line, naming the epoch its
    checkpoint still holds (the checkpoint is written first, and atomically)."""
    try:
        loop.save(out / CHECKPOINT_FILE)
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise DiskFull(f"no space left on the device writing {out / CHECKPOINT_FILE} after epoch {loop.epoch}; the "
                       f"checkpoint of epoch {loop.epoch - 1} is intact: free space and continue with: snas-study "
                       f"{command.verb} --resume {out}") from None
    try:
        _write_outputs(out, loop, writer=True, checkpoint=False)
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise DiskFull(f"no space left on the device writing {out} after epoch {loop.epoch}; its checkpoint holds "
                       f"epoch {loop.epoch}, and resuming rewrites the other files from it: free space and "
                       f"continue with: snas-study {command.verb} --resume {out}") from None


def _translate_official_flags(args: argparse.Namespace, command: RunCommand) -> None:
    """Turn the official scripts' flags into settings (ahead of the user's ``--set``) and an
    output folder; say once what was ignored and what the native command is."""
    if not given_official_flags(args) and getattr(args, "method", None) not in OFFICIAL_PENALTIES:
        return
    translation = translate(args, command.kind.name)
    args.overrides = translation.overrides + list(args.overrides)
    if args.out is None:
        args.out = translation.out
    native = [command.verb] + ([args.genotype] if getattr(args, "genotype", None) else [])
    flag_of = {key: flag for flag, key in command.flags.items()}
    values = {key: str(getattr(args, flag)) for flag, key in command.flags.items() if getattr(args, flag) is not None}
    values.update(dict(o.split("=", 1) for o in translation.overrides if o.split("=", 1)[0] in flag_of))
    for key, value in values.items():
        native += [f"--{flag_of[key].replace('_', '-')}", value]
    for override in args.overrides:
        if override not in translation.overrides or override.split("=", 1)[0] not in flag_of:
            native += ["--set", override]
    native += ["--out", str(args.out)] if args.out is not None else []
    for line in notes(translation, native):
        print(line, flush=True)


def run_folder(args: argparse.Namespace, command: RunCommand, given: list[str]) -> Path:
    """The output folder, checked: ``--resume DIR``, or a new ``--out`` that holds no run
    (unless ``--overwrite``).

    ``given`` are the settings the user passed (they would be ignored by a resumed run,
    so giving any with ``--resume`` is an error).
    """
    if args.resume is not None:
        given = given + given_official_flags(args) + ["--set"] * bool(args.overrides) + ["--out"] * bool(args.out)
        if given:
            raise UserInputError(f"--resume continues the run exactly as it was configured; drop {', '.join(given)}")
        check_output_folder(args.resume, "--resume")
        return args.resume
    _translate_official_flags(args, command)
    if args.out is None:
        raise UserInputError(f"say where to write the {command.noun} with --out DIR (or continue one with "
                             f"--resume DIR)")
    out: Path = args.out
    check_output_folder(out)
    existing = [name for name in OUTPUTS if (out / name).exists()]
    if existing and not args.overwrite:
        held = _held_run(out)
        if held is None or held == command.kind.name:
            raise UserInputError(f"{out} already holds a {command.noun} ({', '.join(existing)}); continue it with "
                                 f"--resume {out} or replace it with --overwrite")
        other = KINDS[held]
        raise UserInputError(f"{out} already holds a {other.noun}, not a {command.noun} ({', '.join(existing)}); "
                             f"continue it with `snas-study {other.command} --resume {out}`, name another --out, or "
                             f"replace it with --overwrite")
    return out


def _held_run(out: Path) -> str | None:
    """The trial kind of the run in the folder ``out``, by its ``config.yaml`` (a retraining's
    settings name its genotype, a search's do not); None when that cannot be read."""
    try:
        config = load_yaml((out / RUN_CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(config, dict):
        return None
    return "retrain" if "genotype" in config else "search"


def begin_run(out: Path, resuming: bool, create: Callable[[], L], restore: Callable[[Path], L],
              writer: bool = True) -> L:
    """The loop, restored from ``out`` or new; a new run writes all its outputs before the
    first epoch, so even a run stopped during epoch 1 can be resumed.  In a data-parallel
    run every rank calls it, and only the ``writer`` writes."""
    if resuming:
        return restore(out / CHECKPOINT_FILE)
    loop = create()
    if writer:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / RUN_CONFIG_FILE, yaml.safe_dump(loop.config.model_dump(mode="json", by_alias=True),
                                                              sort_keys=False))
    _write_outputs(out, loop, writer)
    return loop


def open_run(args: argparse.Namespace, command: RunCommand, given: list[str], create: Callable[[], L],
             restore: Callable[[Path], L]) -> tuple[Path, L]:
    """The checked output folder (:func:`run_folder`) and the loop (:func:`begin_run`)."""
    out = run_folder(args, command, given)
    use_available_cpus()
    return out, begin_run(out, args.resume is not None, create, restore)


@contextmanager
def held_ctrl_c() -> Iterator[list[int]]:
    """A first Ctrl-C inside the block is held (the yielded list records it) so that the block
    runs to its end; a second one raises ``KeyboardInterrupt`` at once, for a block that does
    not end.  Where Ctrl-C does not raise (ignored, or not the main thread), nothing changes.
    """
    pressed: list[int] = []
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield pressed
        return

    def hold(signum: int, frame: object) -> None:
        if pressed:
            raise KeyboardInterrupt
        pressed.append(signum)

    signal.signal(signal.SIGINT, hold)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextmanager
def ctrl_c_after_block() -> Iterator[None]:
    """:func:`held_ctrl_c`, raising the held Ctrl-C as ``KeyboardInterrupt`` once the block has run.

    The blocks write an epoch's checkpoint and event files.  Cut short, tensorboardX's writer,
    whose queue, feeder thread and locks are not written to survive an exception at any
    bytecode, may be left so that closing it waits forever.
    """
    with held_ctrl_c() as pressed:
        yield
    if pressed:
        raise KeyboardInterrupt


def run_epochs(loop: EpochRun, out: Path, command: RunCommand, header: str, quiet: bool) -> int:
    """Train the remaining epochs, saving after each; the exit code (130: Ctrl-C, 1: diverged)."""
    from harness.tensorboard import EventRun  # tensorboardX imports torch
    from snas.distributed import current_ranks

    if loop.finished:
        print(f"the {command.noun} in {out} has already finished ({loop.epoch} epochs)")
        return 0
    print(header, flush=True)
    progress = EpochProgress(enabled=not quiet)
    events = EventRun(out, command.kind.name, loop.epoch + 1)
    saved = loop.epoch  # the epoch the checkpoint holds
    try:
        while not loop.finished:
            with progress.epoch(loop.epoch + 1, loop.config.epochs, loop.data.train.train_steps()) as on_step:
                metrics = loop.run_epoch(on_step)
            with ctrl_c_after_block():  # Ctrl-C stops a run between epochs, never inside a save
                _save_epoch(out, loop, command)
                saved = loop.epoch
                events.write(metrics)
                print(progress.summary(metrics), flush=True)
    except KeyboardInterrupt:
        world = current_ranks().world
        workers = f" --workers {world}" if world > 1 else ""
        print(f"\ninterrupted after epoch {saved}; continue with: snas-study {command.verb} --resume "
              f"{out}{workers}", file=sys.stderr)
        return 130
    finally:
        with held_ctrl_c():  # the run ends either way; a press while closing is dropped, a second raises
            events.close()
    if loop.diverged:
        print(f"the loss became NaN/inf in epoch {loop.epoch}; the {command.noun} stopped "
              f"(see {out / METRICS_FILE})")
        return 1
    return 0


def run_silent_epochs(loop: EpochRun, out: Path) -> None:
    """What a data-parallel rank but rank 0 does: the same epochs and checkpoint
    gathers as rank 0's :func:`run_epochs`, with no output of its own."""
    while not loop.finished:
        loop.run_epoch()
        _write_outputs(out, loop, writer=False)


def add_workers_argument(parser: argparse.ArgumentParser, noun: str) -> None:
    parser.add_argument("--workers", type=int, default=1,
                        help=f"processes of this machine the {noun} runs on, data-parallel; --batch-size is "
                             "split across them (default: 1)")


def check_workers(workers: int) -> None:
    if workers < 1:
        raise UserInputError(f"--workers must be at least 1, got {workers}")
