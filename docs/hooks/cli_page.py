"""The command-line reference page, generated from the ``snas-study`` parsers themselves.

Each verb of :data:`harness.cli.COMMANDS` gets its summary, its description (the command
module's docstring, examples as code), its usage line and a table of its arguments, group
by group, with the help text ``--help`` prints (defaults included).  Building the parsers
imports each command module but neither torch nor Ray.
"""

from __future__ import annotations

import argparse
import re

from docs.hooks.markdown import cell, inline
from harness.cli import COMMANDS, build_parser

_INTRO = """\
# Command-line reference

Generated from the `snas-study` argument parsers when the site is built
(`docs/hooks/cli_page.py`); `snas-study COMMAND --help` prints the same text.  Every
command refuses bad input with one `snas-study: error: …` line and exit code 2.

| command | what it does |
|---|---|
"""


def verb_parsers() -> dict[str, argparse.ArgumentParser]:
    """Each verb's parser, with every flag added, in the order ``snas-study --help`` lists them."""
    parser = build_parser(None)
    sub = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return {verb: sub.choices[verb] for verb in COMMANDS}


def _argument(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    takes_value = action.nargs != 0
    metavar = action.metavar or (action.dest.upper() if takes_value else "")
    if isinstance(action.metavar, tuple):
        metavar = " ".join(action.metavar)
    return ", ".join(f"`{flag}{' ' + str(metavar) if takes_value and metavar else ''}`"
                     for flag in action.option_strings)


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The help ``--help`` prints for ``action``: its formatter adds the default."""
    text = parser._get_formatter()._expand_help(action) if action.help else ""
    if action.choices is not None and action.metavar is None and action.option_strings:
        text += f" (one of: {', '.join(map(str, action.choices))})"
    return cell(text)


def _description(text: str) -> list[str]:
    """A command module's docstring as Markdown: prose as paragraphs, indented examples as code."""
    lines: list[str] = []
    in_code = False
    for line in text.strip("\n").splitlines():
        example = line.startswith("  ") and line.strip()
        if example and not in_code:
            lines += ["```", line[2:]]
            in_code = True
        elif example:
            lines.append(line[2:])
        else:
            if in_code:
                lines.append("```")
                in_code = False
            lines.append(inline(re.sub(r"(?<![`\w])(--[\w-]+(?: [A-Z]+)?)", r"`\1`", line)))
    if in_code:
        lines.append("```")
    return lines


def _usage(parser: argparse.ArgumentParser) -> str:
    usage = parser.format_usage().removeprefix("usage: ").strip()
    return " ".join(usage.split())


def verb_section(verb: str, parser: argparse.ArgumentParser) -> list[str]:
    lines = [f"## `snas-study {verb}`", ""]
    lines += _description(parser.description or "") + [""]
    lines += ["```", _usage(parser), "```", ""]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction)]
        if not actions:
            continue
        lines += [f"**{group.title}**", ""]
        if group.description:
            lines += [cell(group.description), ""]
        lines += ["| argument | meaning |", "|---|---|"]
        lines += [f"| {_argument(action)} | {_help(parser, action)} |" for action in actions]
        lines.append("")
    return lines


def cli_page() -> str:
    """The whole page, as Markdown."""
    parsers = verb_parsers()
    lines = [_INTRO.rstrip("\n")]
    lines += [f"| [`{verb}`](#snas-study-{verb}) | {COMMANDS[verb]} |" for verb in parsers] + [""]
    for verb, parser in parsers.items():
        lines += verb_section(verb, parser)
    return "\n".join(lines)
