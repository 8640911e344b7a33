"""The table ``snas-study proxies`` writes (``proxies.csv``): its name, its first columns, how the
tool knows one of its own, and reading one back for the predictor leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

TABLE_FILE = "proxies.csv"
KEY_COLUMNS = ("genotype", "genotype_id", "space", "trials", "dataset", "layers", "channels", "input",
               "batch_size", "seed")
"""The table's first columns; one column per proxy follows."""


def is_proxy_table(path: Path) -> bool:
    """Whether ``path`` is a table ``snas-study proxies`` wrote (its header starts with :data:`KEY_COLUMNS`)."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(4096).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return first.startswith(",".join(KEY_COLUMNS) + ",")


def read_proxy_table(path: Path) -> pd.DataFrame | None:
    """The proxy columns of the table at ``path`` by ``genotype_id`` (the first row of each id);
    ``None`` when there is none, or it is not one of ours."""
    import pandas as pd

    if not is_proxy_table(path):
        return None
    try:
        table = pd.read_csv(path, dtype={"genotype_id": str})
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    proxies = [column for column in table.columns if column not in KEY_COLUMNS]
    numeric = table[proxies].apply(pd.to_numeric, errors="coerce")
    return numeric.set_index(table["genotype_id"]).groupby(level=0, sort=False).first()
