"""Which signal predicts the accuracy after retraining?  The predictor leaderboard of a retrain study.

Per retrained genotype, its retrained accuracy (the mean over its seeds of the study's score)
stands beside every signal that could have picked it without retraining it: what its search
reported, the mean over the search trials that derived it of their last epoch's
``search_val_acc`` (the supernet with a sampled architecture) and ``child_val_acc`` (the
derived child with the supernet's weights, SNAS's selling point); its size in the retrained
network (``params_m``, ``macs_m``); and each zero-cost proxy, from ``analysis/proxies.csv``
(``snas-study proxies`` on this study writes it).  Random genotypes had no search, so the
search signals cover the searched genotypes only: every row states its own n.

Each signal is ranked by Kendall's τ-b and Spearman's ρ against the retrained means (the
rank correlations NAS-Bench-201 and the zero-cost proxy papers report), with a 95%
percentile bootstrap interval: the genotypes resampled with replacement
:data:`BOOTSTRAP_RESAMPLES` times from a fixed seed, resamples in which either side is
constant left out.  Below :data:`MIN_GENOTYPES` genotypes no signal is ranked: with three,
τ can only be ±1 or ±1/3, and a random order gives |τ| = 1 one time in three.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MIN_GENOTYPES = 4
BOOTSTRAP_RESAMPLES = 2000
SEARCH_SIGNALS = ("search_val_acc", "child_val_acc")
SIZE_SIGNALS = {"params_m": "params_m", "macs_m": "macs_m"}
LEADERBOARD_COLUMNS = ("predictor", "n", "kendall_tau", "tau_ci95_low", "tau_ci95_high", "spearman_rho",
                       "rho_ci95_low", "rho_ci95_high", "note")


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's τ-b of the last axis of ``x`` and ``y`` (any leading axes: one τ per row); NaN
    where either side is constant.  τ-b = Σ sign(Δx)·sign(Δy) / √(Σ sign(Δx)² · Σ sign(Δy)²)
    over the pairs, so tied pairs count in neither the numerator nor their own side's norm."""
    dx = np.sign(x[..., :, None] - x[..., None, :])
    dy = np.sign(y[..., :, None] - y[..., None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (dx * dy).sum(axis=(-2, -1)) / np.sqrt((dx * dx).sum(axis=(-2, -1)) * (dy * dy).sum(axis=(-2, -1)))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, ties given their mean rank (what Spearman's ρ correlates)."""
    below = (values[..., None, :] < values[..., :, None]).sum(axis=-1)
    equal = (values[..., None, :] == values[..., :, None]).sum(axis=-1)
    return below + (equal + 1) / 2


def spearman_rho(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's ρ (Pearson's correlation of the tie-averaged ranks) along the last axis; NaN
    where either side is constant."""
    rx, ry = _ranks(x), _ranks(y)
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=-1) / np.sqrt((rx * rx).sum(axis=-1) * (ry * ry).sum(axis=-1))


def _interval(values: np.ndarray) -> tuple[float, float]:
    kept = values[np.isfinite(values)]
    if not len(kept):
        return math.nan, math.nan
    low, high = np.percentile(kept, [2.5, 97.5])
    return float(low), float(high)


def rank_predictor(name: str, predictor: pd.Series, target: pd.Series, seed: int = 0) -> dict[str, Any]:
    """One leaderboard row: τ, ρ and their bootstrap intervals over the genotypes where both are known."""
    both = pd.concat([predictor, target], axis=1).apply(pd.to_numeric, errors="coerce").dropna()
    x, y = both.iloc[:, 0].to_numpy(float), both.iloc[:, 1].to_numpy(float)
    row: dict[str, Any] = dict.fromkeys(LEADERBOARD_COLUMNS, math.nan)
    row.update(predictor=name, n=len(both), note="")
    if len(both) < MIN_GENOTYPES:
        row["note"] = (f"cannot rank: {len(both)} genotype(s) with both values, at least {MIN_GENOTYPES} needed "
                       f"(with 3, τ is ±1 or ±1/3 and a random order gives |τ| = 1 one time in three)")
        return row
    if np.all(x == x[0]) or np.all(y == y[0]):
        row["note"] = f"cannot rank: every genotype has the same {'value' if np.all(x == x[0]) else 'accuracy'}"
        return row
    row["kendall_tau"], row["spearman_rho"] = float(kendall_tau_b(x, y)), float(spearman_rho(x, y))
    picks = np.random.default_rng(seed).integers(0, len(x), size=(BOOTSTRAP_RESAMPLES, len(x)))
    blocks = np.array_split(picks, max(1, BOOTSTRAP_RESAMPLES * len(x) ** 2 // 4_000_000))  # pair arrays ≤ 32 MB
    taus = np.concatenate([kendall_tau_b(x[block], y[block]) for block in blocks])
    rhos = np.concatenate([spearman_rho(x[block], y[block]) for block in blocks])
    row["tau_ci95_low"], row["tau_ci95_high"] = _interval(taus)
    row["rho_ci95_low"], row["rho_ci95_high"] = _interval(rhos)
    return row


def leaderboard(values: pd.DataFrame, target: str = "retrained") -> pd.DataFrame:
    """Every column of ``values`` but ``target`` ranked as a predictor of it, best τ first
    (those that cannot be ranked last, in their column order)."""
    rows = [rank_predictor(name, values[name], values[target]) for name in values.columns if name != target]
    table = pd.DataFrame(rows, columns=list(LEADERBOARD_COLUMNS))
    return table.sort_values("kendall_tau", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def predictor_values(trials: pd.DataFrame, search: pd.DataFrame | None,
                     proxies: pd.DataFrame | None) -> pd.DataFrame:
    """Per retrained genotype (index ``arch``): ``retrained`` (the mean of ``score`` over its
    seeds), the search's signals (``search``, by arch), its size, and the proxies (``proxies``,
    by genotype id)."""
    grouped = trials.groupby("arch", sort=False)
    values = pd.DataFrame({"retrained": grouped["score"].mean()})
    for signal in SEARCH_SIGNALS:
        values[signal] = search[signal].reindex(values.index) if search is not None and signal in search else math.nan
    for column, signal in SIZE_SIGNALS.items():
        if column in trials:
            values[signal] = grouped[column].first()
    if proxies is not None and "genotype_id" in trials:
        ids = grouped["genotype_id"].first()
        for name in proxies.columns:
            values[name] = ids.map(proxies[name])
    return values


def search_signals(source: dict[str, Any] | None) -> tuple[pd.DataFrame | None, str | None]:
    """The search's signals of each searched genotype of a retrain study made by ``snas-study
    retrain`` (its ``source``), read from the search study folder; with a note when it cannot be."""
    from harness.analysis.results import load_results
    from snas.errors import UserInputError

    if not source or not source.get("genotypes"):
        return None, "the study names no search study (not made by `snas-study retrain`): no search signals"
    try:
        results = load_results(source["study"])
    except (UserInputError, OSError) as err:
        return None, f"the search study could not be read ({err}): no search signals"
    last = {trial.trial_id: trial.last for trial in results.trials}
    rows = {}
    for label, origin in source["genotypes"].items():
        runs = [last.get(trial, {}) for trial in origin.get("source_trials", [])]
        rows[label] = {signal: _mean([run.get(signal) for run in runs]) for signal in SEARCH_SIGNALS}
    return pd.DataFrame.from_dict(rows, orient="index"), None


def _mean(values: list[Any]) -> float:
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(numbers) / len(numbers) if numbers else math.nan


def predictor_values_table(trials: pd.DataFrame, source: dict[str, Any] | None, analysis: Path) -> pd.DataFrame:
    """:func:`predictor_values` of a retrain study's trials table, the search's signals read from
    its ``source`` and the proxies from its ``analysis`` folder (``proxies.csv``), one row per
    genotype with its ``arch``; ``note`` says why search signals are missing, if they are."""
    from harness.proxy_table import TABLE_FILE, read_proxy_table

    if "arch" not in trials or "score" not in trials or not trials["score"].notna().any():
        return pd.DataFrame()
    search, problem = search_signals(source)
    values = predictor_values(trials, search, read_proxy_table(analysis / TABLE_FILE))
    return values.assign(note=problem or "").rename_axis("arch").reset_index()


def predictor_board(values: pd.DataFrame | None) -> pd.DataFrame:
    """The leaderboard of a :func:`predictor_values_table` (empty without one)."""
    if values is None or not len(values):
        return pd.DataFrame()
    table = leaderboard(values.drop(columns=["arch", "note"]))
    problem = values["note"].iloc[0]
    if problem:
        table.loc[table["predictor"].isin(SEARCH_SIGNALS), "note"] = f"cannot rank: {problem}"
    return table
