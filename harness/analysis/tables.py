"""Tidy tables of a study: one row per trial, one row per trial-epoch, and the winners."""

from __future__ import annotations

import collections
import math
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis.replicates import groups, replicate_table, summarize
from harness.analysis.results import StudyResults
from harness.analysis.trial_rows import Scope, trial_rows, winner_record
from harness.trialconfig import ResolvedConfig


def trials_table(results: StudyResults, metric: str | None = None, scope: Scope = "last") -> pd.DataFrame:
    """One row per trial (:func:`harness.analysis.trial_rows.trial_rows`), best first by
    ``metric`` at ``scope``, trials without a score last, ties in folder order."""
    study = results.study
    table = pd.DataFrame(trial_rows(results, metric, scope))
    for column in study.searcher.column_titles:  # trial numbers, with gaps where a trial has none
        if column in table:
            table[column] = table[column].astype("Int64")
    if len(table):
        ascending = study.mode == "min"
        table = table.sort_values("score", ascending=ascending, na_position="last", kind="stable")
        table = table.reset_index(drop=True)
    return table


def curves_table(results: StudyResults) -> pd.DataFrame:
    """One row per trial and epoch with every metric the trial reported (built at once from
    every trial's rows: a study of 10,000 trials makes one table, not 10,000)."""
    kind = results.study.trial_kind
    names = kind.short_names([*results.study.space, *_changed_outside_space(results)])
    own = {key: name for key, name in names.items() if key.startswith(f"{kind.section}.")}
    records = []
    for trial in results.trials:
        settings = {name: trial.config.get(key) for key, name in names.items()}
        changed = trial.resolved if trial.resolved is not None and trial.resolved.changes else None
        for row in trial.rows:
            record = {"trial_id": trial.trial_id, **{key: value for key, value in row.items() if key != "trial_id"}}
            record.update(settings)
            if changed is not None:
                record.update(_settings_in_force(changed, own, kind.section, row))
            records.append(record)
    if not records:
        return pd.DataFrame(columns=["trial_id", "epoch"])
    table = pd.DataFrame.from_records(records)
    # Tune's copies of the trial config (the varied settings are already columns) and host details.
    drop = [c for c in table.columns if c.startswith("config") or c in ("date", "hostname", "node_ip", "pid")]
    return table.drop(columns=drop)


def _changed_outside_space(results: StudyResults) -> list[str]:
    """Settings some trial changed mid-run that the space does not vary (a replayed schedule's):
    the curves carry them too, so each epoch's row says what it ran with."""
    section = results.study.trial_kind.section
    changed = {f"{section}.{key}" for trial in results.trials if trial.resolved is not None
               for change in trial.resolved.changes for key in change["settings"]}
    return sorted(changed - set(results.study.space))


def _settings_in_force(resolved: ResolvedConfig, names: dict[str, str], section: str,
                       row: dict[str, Any]) -> dict[str, Any]:
    """The varied settings in force during the epoch of ``row`` of a trial whose settings changed
    mid-run (PBT), from the changes its ``config.json`` records."""
    epoch = int(row.get("epoch", row.get("training_iteration", 0)))
    return {name: resolved.setting_at(key.removeprefix(f"{section}."), epoch) for key, name in names.items()}


def best_trials(table: pd.DataFrame, results: StudyResults, k: int = 3) -> list[dict[str, Any]]:
    """The top-``k`` trials of ``table`` (already ranked), with everything needed to retrain them.

    Trials whose curve or settings were damaged are left out: their scores are not trusted."""
    if not len(table):
        return []
    by_id = {t.trial_id: t for t in results.trials}
    ranked = table[[by_id[trial_id].ranked for trial_id in table["trial_id"]]]
    return [winner_record(by_id[row["trial_id"]], rank, row)
            for rank, (_, row) in enumerate(ranked.dropna(subset=["score"]).head(k).iterrows(), start=1)]


def retrain_comparison(table: pd.DataFrame, source: dict[str, Any] | None) -> pd.DataFrame:
    """Per retrained genotype: the score its search reported and the retrained accuracies
    over its seeds (mean, standard deviation and 95% t-interval), with parameters and MACs."""
    if not len(table) or "arch" not in table:
        return pd.DataFrame()
    grouped = table.groupby("arch", sort=False)
    columns: dict[str, Any] = {"seeds": grouped.size()}
    for metric in ("val_acc", "test_acc"):
        summaries = {arch: summarize(values) for arch, values in grouped[f"final_{metric}"]}
        for suffix, field in (("mean", "mean"), ("std", "sd"), ("ci95_low", "low"), ("ci95_high", "high")):
            columns[f"{metric}_{suffix}"] = pd.Series({arch: getattr(s, field) for arch, s in summaries.items()})
    columns.update({"params_m": grouped["params_m"].first(), "macs_m": grouped["macs_m"].first(),
                    "genotype": grouped["genotype"].first()})
    out = pd.DataFrame(columns).rename_axis("arch")
    scores = (source or {}).get("scores", {})
    out.insert(0, "searched_score", [scores.get(label, math.nan) for label in out.index])
    return out.reset_index()


RETRAIN_ORIGIN_KEYS = {"origin": "retrain.origin", "genotype_id": "retrain.genotype_id",
                       "random_index": "retrain.random_index"}
"""Columns a retrain trial's config may carry: whether its genotype was searched or sampled
at random (``snas-study retrain --random K``), its canonical hash, its index among the random ones."""


def _config_value(config: dict[str, Any], dotted: str) -> Any:
    """``config[dotted]``, whether Tune stored the key flat or nested."""
    if dotted in config:
        return config[dotted]
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def with_retrain_origins(table: pd.DataFrame, results: StudyResults) -> pd.DataFrame:
    """``table`` with the :data:`RETRAIN_ORIGIN_KEYS` columns its trials' configs carry (none
    of a search study's; a column the table has already is kept as it is)."""
    configs = {trial.trial_id: trial.config for trial in results.trials}
    for column, key in RETRAIN_ORIGIN_KEYS.items():
        if column in table or not len(table):
            continue
        values = table["trial_id"].map(lambda trial_id, key=key: _config_value(configs.get(trial_id, {}), key))
        if values.notna().any():
            table[column] = values
    return table


ORIGINS = ("searched", "proxy", "random")
"""Where a retrained genotype came from, in the order tables and plots show them."""


def random_baseline(trials: pd.DataFrame, mode: str = "max", selection: dict[str, Any] | None = None) -> pd.DataFrame:
    """Per retrained genotype (searched, proxy-picked or random): n seeds, mean, sd and 95%
    t-interval of its score, where a searched or proxy-picked one's mean ranks among the random
    genotypes' means, and what choosing it cost (``selection``: the retrain study's record,
    :func:`harness.proxy_baseline.selection_costs`).  Empty unless the study retrained both
    searched and random genotypes."""
    if "origin" not in trials or "arch" not in trials or not {"searched", "random"} <= set(trials["origin"]):
        return pd.DataFrame()
    table = replicate_table(trials, ["arch"], mode)
    first = trials.groupby("arch", sort=False).first()
    table.insert(1, "origin", table["arch"].map(first["origin"]))
    if "genotype_id" in first:
        table.insert(2, "genotype_id", table["arch"].map(first["genotype_id"]))
    random_means = table.loc[table["origin"] == "random", "mean"].dropna().to_numpy()

    def rank(row: pd.Series) -> str:
        if row["origin"] == "random" or math.isnan(row["mean"]):
            return ""
        better = int((random_means > row["mean"]).sum() if mode == "max" else (random_means < row["mean"]).sum())
        tied = int((random_means == row["mean"]).sum())  # common: accuracies come in steps of 1/validation images
        ties = f", ties {tied}" if tied else ""
        return (f"rank {better + 1} of {len(random_means) + 1} "
                f"(beats {len(random_means) - better - tied}{ties} of {len(random_means)} random)")

    table["rank_among_random"] = table.apply(rank, axis=1)
    table["selection_cost"] = table["origin"].map(lambda origin: _cost_text((selection or {}).get(origin)))
    order = {origin: i for i, origin in enumerate(ORIGINS)}
    best_first = -1 if mode == "max" else 1
    return table.sort_values(["origin", "mean"], key=lambda c: c.map(order) if c.name == "origin" else best_first * c,
                             kind="stable").reset_index(drop=True)


def _cost_text(cost: dict[str, Any] | None) -> str:
    """``0.42 h (search trials' wall time, summed)``, ``3.1 s (synflow on a pool of 50 ...)``."""
    if not cost:
        return ""
    amount = f"{cost['hours']:.3g} h" if "hours" in cost else f"{cost['seconds']:.3g} s"
    return f"{amount} ({cost['what']})"


def distinct_genotypes(trials: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Per combination of ``factors`` (and, last, over all trials): how many trials ran, how many
    distinct genotypes they derived (by canonical hash), and the most frequent one.  Empty
    when the trials carry no ``genotype_id``."""
    if "genotype_id" not in trials or not trials["genotype_id"].notna().any():
        return pd.DataFrame()
    ids = trials["genotype_id"].to_numpy(dtype=object)
    settings = [(key, "setting", positions) for key, positions in groups(trials, factors)] if factors else []
    rows = []
    for key, scope, positions in [*settings, ((None,) * len(factors), "all trials", np.arange(len(trials)))]:
        counts = collections.Counter(value for value in ids[positions] if isinstance(value, str))
        most, its = counts.most_common(1)[0] if counts else (None, 0)  # ties: the one seen first
        rows.append({**dict(zip(factors, key)), "scope": scope, "trials": len(positions),
                     "distinct_genotypes": len(counts), "most_frequent": most, "its_trials": its})
    return pd.DataFrame(rows)
