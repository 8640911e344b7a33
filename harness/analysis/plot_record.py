"""What a drawn plot leaves: its files and caption."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Plot:
    """A plot's PNG (its PDF lies beside it) and caption.  Apart from the plots, which import
    matplotlib: the report and a process receiving a plot worker's plots need only this."""

    path: Path
    caption: str
