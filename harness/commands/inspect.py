"""Show what a checkpoint holds: kind, epoch, configuration, metrics so far, genotype and,
for a search, the architecture distribution (softmax of α, per edge and op).

CHECKPOINT is a checkpoint.pt written by `snas-study search` / `snas-study train` or by a
study's trial, or the folder holding one (for a study's trial folder, its newest
checkpoint).  Nothing is trained or changed; a corrupt or foreign file is refused with a
message.  --draw also writes the genotype's cells as PNG
and SVG next to the checkpoint (or to --out); an existing file of that name is replaced
only if it is an earlier drawing of snas-study, or with --overwrite.

  snas-study inspect runs/snas-digits
  snas-study inspect runs/darts-v2/checkpoint.pt --draw
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.analysis.trial_files import Damage, latest_checkpoint
from harness.kinds import KINDS, TrialKind
from harness.outputs import check_drawing_outputs
from harness.studyfolder import CHECKPOINT_FILE, checkpoint_folder_names
from snas.catalogue import catalogue_name
from snas.data.config import DataConfig
from snas.data.sets import DATASETS
from snas.errors import UserInputError
from snas.spaces import SearchSpace, genotype_from_dict, space_of

if TYPE_CHECKING:
    import torch

# metric -> (column header, format); a column shows when the history has the metric
_COLUMNS: dict[str, tuple[str, str]] = {
    "epoch": ("epoch", "{:d}"), "train_loss": ("loss", "{:.3f}"), "train_acc": ("train %", "{:.1f}"),
    "search_val_acc": ("search val %", "{:.1f}"), "child_val_acc": ("child val %", "{:.1f}"),
    "val_acc": ("val %", "{:.1f}"), "test_acc": ("test %", "{:.1f}"), "temperature": ("τ", "{:.3f}"),
    "arch_entropy": ("entropy", "{:.3f}"), "cost": ("cost", "{:.4g}"), "lr": ("lr", "{:.3g}"),
    "drop_path": ("drop path", "{:.3f}"), "epoch_time_s": ("time s", "{:.1f}"),
}
_HEAD, _TAIL = 5, 10  # epochs shown at the start and end of a long history


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="a checkpoint.pt, or the folder holding one")
    parser.add_argument("--draw", action="store_true", help="also draw the genotype's cells (PNG and SVG)")
    parser.add_argument("--out", type=Path, help="where --draw writes (default: <checkpoint>_cells.png beside it)")
    parser.add_argument("--overwrite", action="store_true", help="let --draw replace existing files of those names")


def _table(header: list[str], rows: list[list[str]], first_left: bool = False) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(w) if first_left and i == 0 else cell.rjust(w) for i, (cell, w) in
                 enumerate(zip(row, widths))]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return lines


def _cell(value: Any, fmt: str) -> str:
    if value is None or isinstance(value, bool) or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt.format(value)


def metrics_table(history: list[dict[str, Any]]) -> list[str]:
    """The history as a compact table: the known metrics present, long runs shortened."""
    if not history:
        return ["  (no epoch finished yet)"]
    keys = [key for key in _COLUMNS if any(key in record for record in history)]
    shown = history if len(history) <= _HEAD + _TAIL else [*history[:_HEAD], None, *history[-_TAIL:]]
    rows = [[f"… {len(history) - _HEAD - _TAIL} epochs"] + [""] * (len(keys) - 1) if record is None
            else [_cell(record.get(key), _COLUMNS[key][1]) for key in keys] for record in shown]
    return _table([_COLUMNS[key][0] for key in keys], rows)


def alpha_table(logits: torch.Tensor, space: SearchSpace) -> list[str]:
    """softmax(α) per edge, rows ``source→target``, columns the primitives; ``*`` marks each row's maximum."""
    edges = space.edges()
    primitives = space.primitives
    if tuple(logits.shape) != (len(edges), len(primitives)):
        raise UserInputError(f"α has shape {tuple(logits.shape)}, expected {len(edges)} edges × "
                             f"{len(primitives)} ops: the checkpoint is not from the {space.name} search space")
    probs = logits.detach().double().softmax(dim=-1)
    rows = []
    for (source, target), row in zip(edges, probs.tolist()):
        best = max(range(len(row)), key=row.__getitem__)
        rows.append([f"{source}→{target}"] + [f"{p:.3f}" + ("*" if k == best else " ") for k, p in enumerate(row)])
    return _table(["edge", *(f"{name} " for name in primitives)], rows, first_left=True)


def _size_line(kind: TrialKind, config: dict[str, Any], history: list[dict[str, Any]],
               space: SearchSpace) -> list[str]:
    """The child network's size as the last epoch measured it (a search: at evaluation scale)."""
    if not history:
        return []
    prefix, layers_key, channels_key = kind.size_settings
    last = history[-1]
    params, macs = last.get(f"{prefix}params_m"), last.get(f"{prefix}macs_m")
    if params is None or macs is None:
        return []
    layers, channels = config[layers_key], config[channels_key]
    return [f"  {space.describe_cells(layers)} × {channels} channels{_input_text(config)}: {params:.3f}M params "
            f"(auxiliary head excluded), "
            f"{macs:.1f}M MACs (multiply-accumulates, one image)"]


def _input_text(config: dict[str, Any]) -> str:
    """`` on 1×8×8 input, 10 classes``: what the sizes were counted at (the run's data set)."""
    try:
        data = DataConfig.model_validate(config.get("data", {}))
        inputs = DATASETS[data.dataset].inputs(data)
    except (ValueError, UserInputError):
        return ""
    return f" on {inputs.channels}×{inputs.height}×{inputs.width} input, {inputs.classes} classes"


def _checkpoint_path(path: Path) -> Path:
    """The checkpoint a path names: a file itself; a folder's ``checkpoint.pt``; in a study's
    trial folder, which holds one ``checkpoint_*`` folder per save, the newest one that holds
    a plain ``checkpoint.pt`` (links and incomplete saves passed over, as the analysis does)."""
    if not path.is_dir() or (path / CHECKPOINT_FILE).exists():
        return path / CHECKPOINT_FILE if path.is_dir() else path
    try:
        saves = checkpoint_folder_names(entry.name for entry in path.iterdir())
    except OSError as err:
        raise UserInputError(f"cannot list {path}: {err.strerror}") from None
    if not saves:
        raise UserInputError(f"{path} holds no {CHECKPOINT_FILE}, nor the checkpoint_* folders of a study's trial; "
                             f"give a checkpoint file or the folder holding one")
    damage: list[Damage] = []
    newest = latest_checkpoint(path, saves, damage)  # the rule the analysis and retrain follow
    if newest is None:
        problems = "; ".join(str(d) for d in damage) or f"none holds a {CHECKPOINT_FILE}"
        raise UserInputError(f"{path} holds checkpoint folders but no checkpoint to read ({problems})")
    return newest


def describe(record: dict[str, Any], path: Path) -> str:
    """Everything ``inspect`` prints about one checkpoint record."""
    from snas.run import check_run_record  # torch: imported where a checkpoint is read, not for --help
    from snas.search import saved_alphas

    checked = check_run_record(record, path)
    kind, genotype = KINDS[checked.kind], checked.genotype
    config, state = record["config"], record["state"]
    lines = [f"checkpoint: {path}",
             f"kind: {kind.checkpoint_title(config)}, epoch {record['epoch']} of {config.get('epochs')}"]
    if state.get("diverged"):
        lines.append("  the loss became NaN/inf: the run stopped")
    settings = {key: value for key, value in config.items() if key != "genotype"}  # shown below, readably
    lines += [f"config{' (genotype below)' if 'genotype' in config else ''}:",
              *("  " + line for line in yaml.safe_dump(settings, sort_keys=False).splitlines())]
    lines += [f"metrics ({len(state['history'])} epochs):", *metrics_table(state["history"])]
    name = catalogue_name(genotype)
    form = space_of(genotype).describe_form(genotype.form)
    lines += [f"genotype ({form}{', catalogue ' + name if name else ''}):", f"  {genotype}"]
    in_force = checked.config.model_dump(mode="json", by_alias=True)  # with the defaults a written config leaves out
    lines += _size_line(kind, in_force, state["history"], space_of(genotype))
    if kind.derives_genotype:  # from α, shown as the architecture distribution
        alphas = saved_alphas(state)
        space = space_of(genotype)
        for cell in space.cell_types:
            if cell not in alphas:
                raise UserInputError(f"{path} is a search checkpoint without α of the {cell} cell")
            lines += [f"α, {cell} cell (softmax probabilities per edge, * = most probable op):",
                      *alpha_table(alphas[cell], space)]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not args.draw and (args.out is not None or args.overwrite):
        raise UserInputError("--out and --overwrite say where --draw writes; add --draw")
    path = _checkpoint_path(args.checkpoint)
    out = args.out or path.with_name(f"{path.stem}_cells.png")
    if args.draw:
        check_drawing_outputs(out, overwrite=args.overwrite, given=args.out is not None)
    from snas.checkpoint import load_checkpoint  # torch: imported where a checkpoint is read, not for --help

    record = load_checkpoint(path)
    print(describe(record, path))
    if args.draw:
        from snas.draw import draw_genotype  # matplotlib: imported only when drawing

        genotype = genotype_from_dict(record["genotype"])
        for drawn in draw_genotype(genotype, out, title=f"{record['kind']} checkpoint, epoch {record['epoch']}"):
            print(f"drew {drawn}")
    return 0
