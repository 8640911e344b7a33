"""The ``snas-study`` command line: one verb per module in :mod:`harness.commands`.

Problems a user can fix (bad flags, study files, data folders, checkpoints) end with one
``snas-study: error: …`` line and exit code 2; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from importlib import import_module, metadata
from typing import NoReturn

from harness.stackdump import print_stacks_on_request
from snas.errors import UserInputError

# verb -> module under harness.commands (imported lazily: Ray is slow to import)
COMMANDS: dict[str, str] = {
    "run": "Run a study file with Ray Tune (sweeps, ASHA, Optuna), then analyse it.",
    "resume": "Continue an interrupted or partly failed study.",
    "status": "Show a study's trials: state, epochs, early stops, best metric, errors.",
    "analyze": "Write a study's tables, winners and plots (no Ray needed).",
    "report": "Write a self-contained HTML report: winners, cells, plots, trials, study file.",
    "best": "Print the best trials' genotypes (DARTS repr and JSON).",
    "retrain": "Retrain a search study's best genotypes from scratch, as a Ray Tune study.",
    "replay": "Rerun the schedule a PBT or PB2 study discovered, from epoch 0, with seeds.",
    "search": "Run one architecture search without Ray (progress bar, resumable).",
    "train": "Train one genotype from scratch without Ray (progress bar, resumable).",
    "profile": "Count a genotype's parameters and MACs, next to the papers' figures.",
    "draw": "Draw a genotype's normal and reduction cells (PNG and SVG).",
    "proxies": "Score genotypes with zero-cost proxies (grad_norm, snip, synflow, naswot, params, MACs).",
    "inspect": "Show a checkpoint's kind, epoch, config, metrics, genotype and α.",
}


class _Parser(argparse.ArgumentParser):
    """Flag errors in the same one line as every other bad input (the usage is a --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"snas-study: error: {message} (see `{self.prog} --help`)\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; every flag with a default says it (flags whose default
    comes from the configuration say so in their own help)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text or default in (None, False, [], argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def version() -> str:
    try:
        return f"snas-study {metadata.version('snas-study')}"
    except metadata.PackageNotFoundError:
        return "snas-study (not installed: run from a source tree)"


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The command line; only ``verb``'s module is imported and its flags added (every verb
    when None), so that ``status`` or ``best --help`` loads neither torch nor Ray."""
    parser = _Parser(
        prog="snas-study",
        description="Ray Tune studies of SNAS architecture searches: run, resume, analyse, retrain.",
    )
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in COMMANDS.items():
        if verb is not None and name != verb:
            sub.add_parser(name, help=summary)  # listed in the usage, its flags never parsed here
            continue
        module = import_module(f"harness.commands.{name}")
        command = sub.add_parser(name, help=summary, description=module.__doc__,
                                 formatter_class=HelpFormatter)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def _verb(argv: list[str]) -> str | None:
    """The verb the command line names (its first word that is not a flag), when it is one."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    return word if word in COMMANDS else None


EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def _file_system_problem(err: OSError) -> tuple[str, int] | None:
    """The one line and exit code for what the file system refused, where the user can act on
    it: a name too long for it (bad input), a full disk or quota (every write being atomic,
    what was written before is intact); None for any other error, which is a bug."""
    where = f" ({err.filename})" if err.filename else ""
    if err.errno == errno.ENAMETOOLONG:
        return f"a file name is too long for the file system{where}: choose shorter names", EXIT_BAD_INPUT
    if err.errno in _DISK_FULL:
        return (f"no space left on the device{where}: nothing was half-written (every file is written to a "
                f"temporary name, then moved); free space and run the command again"), EXIT_FAILED
    return None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print_stacks_on_request()
    argv = sys.argv[1:] if argv is None else argv
    verb = _verb(argv)
    try:
        # Building the parser imports the verb's module (for `analyze`, pandas and SciPy: a
        # second or more), where a Ctrl-C lands as readily as in the command itself.
        args = build_parser(verb if verb is not None else "").parse_args(argv)
        return int(args.handler(args) or 0)
    except UserInputError as err:
        print(f"snas-study: error: {err}", file=sys.stderr)
        return getattr(err, "exit_code", EXIT_BAD_INPUT)
    except BrokenPipeError:  # `snas-study best ... | head`: the reader left; say nothing more (an OSError: first)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as err:
        problem = _file_system_problem(err)
        if problem is None:
            raise
        print(f"snas-study: error: {problem[0]}", file=sys.stderr)
        return problem[1]
    except KeyboardInterrupt:  # Ctrl-C outside the loops that handle it themselves (connecting, analysing)
        print("snas-study: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
