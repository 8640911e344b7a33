"""Seeds are replicates, not factors: means over seeds with confidence intervals, and paired
comparisons between the levels of a setting.

A study's varied settings are of two sorts.  A *seed* (a varied key whose last part is
``seed``: ``search.seed``, ``retrain.settings.seed``) repeats a run with other random
draws; every other varied setting is a *factor*.  Every aggregate here groups trials by all
the factors and summarises over the seeds, so another factor is never folded into a
spread.  NAS results depend strongly on the seed (Yang et al., ICLR 2020), so the spread
over seeds is what tells a real difference from luck.

Intervals are two-sided 95% Student-t intervals of the mean (``scipy.stats.t``): with
n = 3 seeds the t quantile is 4.30, and the interval is wide, honestly so.  A group of one
run has no interval (shown as such, never as zero width).  Only trials that ran their full
budget enter (see :func:`finished`): an ASHA-stopped trial's score is from fewer epochs.

scipy is imported where an interval or a test is computed: ``status`` and ``best`` read
their tables through this module, and a study without replicates needs neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from harness.domain import is_seed_key
from harness.study import Study

CONFIDENCE = 0.95
INTERVAL = "95% Student-t interval"
"""How the intervals are named in captions and tables."""
SIGNIFICANCE = 0.05


def seed_columns(study: Study) -> list[str]:
    """Short names of the study's varied seeds (the replicates)."""
    names = study.trial_kind.short_names(list(study.space))
    return [name for key, name in names.items() if is_seed_key(key)]


def factor_columns(study: Study, trials: pd.DataFrame) -> list[str]:
    """Short names of the study's varied settings that are not seeds and have a column."""
    names = study.trial_kind.short_names(list(study.space))
    seeds = set(seed_columns(study))
    return [name for name in names.values() if name not in seeds and name in trials]


def finished(trials: pd.DataFrame) -> pd.Series:
    """Which trials ran their full budget with a score: the ones an aggregate may compare."""
    stopped = trials["stopped_early"].astype(bool) if "stopped_early" in trials else False
    return ~stopped & trials["score"].notna()


@dataclass(frozen=True)
class Summary:
    """Mean, spread and best of one group's runs."""

    n: int
    mean: float
    sd: float
    low: float
    """Lower end of the 95% t-interval of the mean; NaN when n < 2."""
    high: float
    best: float


def summarize(values: pd.Series | np.ndarray | list[float], mode: str = "max") -> Summary:
    """The :class:`Summary` of ``values`` (NaNs dropped); ``mode`` says which end is best."""
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    n = len(data)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    mean = float(data.mean())
    best = float(data.max() if mode == "max" else data.min())
    if n < 2:
        return Summary(1, mean, math.nan, math.nan, math.nan, best)
    sd = float(data.std(ddof=1))
    from scipy import stats

    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / math.sqrt(n)
    return Summary(n, mean, sd, mean - half, mean + half, best)


def groups(trials: pd.DataFrame, factors: list[str]) -> list[tuple[tuple, np.ndarray]]:
    """``(values of the factors, row positions)`` of each combination of ``factors`` in
    ``trials``, in sorted order (missing values a group of their own); one group of every
    row when there are no factors.  Positions, not sub-tables: a random search of 10,000
    trials has 10,000 groups."""
    if not factors:
        return [((), np.arange(len(trials)))]
    grouped = trials.groupby(factors, sort=True, dropna=False)
    return [(key if isinstance(key, tuple) else (key,), np.asarray(positions))
            for key, positions in grouped.indices.items()]


def replicate_table(trials: pd.DataFrame, factors: list[str], mode: str = "max") -> pd.DataFrame:
    """One row per combination of ``factors``: n finished runs, mean, sd, 95% t-interval and
    best of their scores, and how many stopped-early runs were left out."""
    rows = []
    complete = finished(trials).to_numpy()
    scores = trials["score"].to_numpy(dtype=float)
    for key, positions in groups(trials, factors):
        summary = summarize(scores[positions[complete[positions]]], mode)
        rows.append({**dict(zip(factors, key)), "n": summary.n, "mean": summary.mean, "sd": summary.sd,
                     "ci95_low": summary.low, "ci95_high": summary.high, "best": summary.best,
                     "stopped_left_out": int((~complete[positions]).sum())})
    return pd.DataFrame(rows)


def verdict(n: int, p: float) -> str:
    """A paired test's result in words."""
    if n < 2 or math.isnan(p):
        return f"no test at n = {n}"
    if p < SIGNIFICANCE:
        return f"significant at the 5% level (n = {n})"
    return f"not significant at n = {n}"


def paired_comparisons(trials: pd.DataFrame, factor: str, pair_on: list[str]) -> pd.DataFrame:
    """Each pair of ``factor``'s levels compared on runs that agree on every ``pair_on``
    column (the seeds and the other factors): mean difference (first minus second), its 95%
    t-interval, and the paired t-test's p.  Empty when no two levels share a pairing."""
    from scipy import stats

    complete = trials[finished(trials)]
    levels = sorted(complete[factor].dropna().unique(), key=_order)
    rows = []
    for first, second in combinations(levels, 2):
        a = complete[complete[factor] == first][[*pair_on, "score"]]
        b = complete[complete[factor] == second][[*pair_on, "score"]]
        pairs = a.merge(b, on=pair_on, suffixes=("_a", "_b")) if pair_on else pd.DataFrame()
        if not len(pairs):
            continue
        differences = pairs["score_a"] - pairs["score_b"]
        summary = summarize(differences)
        p = float(stats.ttest_rel(pairs["score_a"], pairs["score_b"]).pvalue) if summary.n >= 2 else math.nan
        rows.append({"setting": factor, "level_a": first, "level_b": second, "pairs": summary.n,
                     "mean_difference": summary.mean, "ci95_low": summary.low, "ci95_high": summary.high,
                     "p_paired_t": p, "verdict": verdict(summary.n, p)})
    return pd.DataFrame(rows)


def _order(value: object) -> tuple[int, object]:
    """Numbers before text, each in its own order (a column may mix them)."""
    return (0, value) if isinstance(value, (int, float, np.number)) else (1, str(value))
