"""Tidy tables of a study: one row per trial, one row per trial-epoch, and the winners."""

from __future__ import annotations

import math
from typing import Any, Literal

import pandas as pd

from harness.analysis.replicates import replicate_table, summarize
from harness.analysis.results import StudyResults, TrialRecord
from harness.endings import DIVERGED, ending_of
from harness.study import Study
from snas.genotype import GenotypeError, genotype_id
from snas.spaces import genotype_from_dict, parse_genotype

Scope = Literal["last", "best"]


def _genotype_text(trial: TrialRecord) -> str | None:
    if len(trial.curve) and "genotype" in trial.curve:
        return str(trial.curve["genotype"].iloc[-1])
    if trial.genotype_json is not None:
        return str(genotype_from_dict(trial.genotype_json))
    return None


def trial_genotype(trial: TrialRecord) -> Any | None:
    """The genotype the ``genotype`` column shows (the last epoch's, else genotype.json's);
    ``None`` when there is none or it cannot be read."""
    text = _genotype_text(trial)
    try:
        return parse_genotype(text) if text else None
    except GenotypeError:
        return None


def stop_reason(trial: TrialRecord, study: Study) -> str | None:
    """Why the trial did not run to its last epoch (:mod:`harness.endings`: ``diverged``,
    ``collapse (skip_connect 4 > 2)``, the scheduler's label); ``None`` when it did, or has
    not ended."""
    if trial.diverged:
        return DIVERGED
    if trial.state != "TERMINATED":
        return None
    last = trial.curve.iloc[-1].to_dict() if len(trial.curve) else {}
    return ending_of(last, trial.epochs, trial.configured_epochs, study).reason


def score(curve: pd.DataFrame, metric: str, scope: Scope, mode: str) -> float:
    """The trial's ranking value: ``metric`` at the last epoch, or its best over epochs."""
    if not len(curve) or metric not in curve:
        return math.nan
    values = pd.to_numeric(curve[metric], errors="coerce")
    if scope == "last":
        return float(values.iloc[-1])
    return float(values.max() if mode == "max" else values.min())


def _number(row: pd.Series, name: str) -> float:
    """``row[name]`` as a float; NaN when absent or not a number (a damaged report)."""
    try:
        return float(row.get(name))
    except (TypeError, ValueError):
        return math.nan


def trials_table(results: StudyResults, metric: str | None = None, scope: Scope = "last") -> pd.DataFrame:
    """One row per trial: varied settings, outcome, accuracies, architecture size, cost."""
    study = results.study
    metric = metric or study.metric
    names = study.trial_kind.short_names(list(study.space))
    summary, sizes = study.trial_kind.summary_metrics, study.trial_kind.size_metrics
    searcher_columns = study.searcher.trial_columns(results.path, study.name)
    rows = []
    for trial in results.trials:
        curve = trial.curve
        last = curve.iloc[-1] if len(curve) else pd.Series(dtype=object)
        row: dict[str, Any] = {"trial_id": trial.trial_id}
        row.update({column: values.get(trial.trial_id) for column, values in searcher_columns.items()})
        row.update({names[k]: trial.config.get(k) for k in study.space})
        row.update({
            "state": trial.state, "stopped_early": trial.stopped_early, "diverged": trial.diverged,
            "epochs": trial.epochs, "configured_epochs": trial.configured_epochs,
            "score": score(curve, metric, scope, study.objective.mode),
        })
        for m in summary:
            row[f"final_{m}"] = _number(last, m)
            row[f"best_{m}"] = score(curve, m, "best", "min" if m.endswith("loss") else "max")
        row.update({m: _number(last, m) for m in sizes})
        row["genotype"] = _genotype_text(trial)
        genotype = trial_genotype(trial)
        row["genotype_id"] = genotype_id(genotype) if genotype is not None else None
        row["stop_reason"] = stop_reason(trial, study)
        row["wall_time_s"] = _number(last, "time_total_s")
        row.update({"num_failures": trial.num_failures, "error": trial.error, "checkpoint": trial.checkpoint,
                    "trial_path": str(trial.path), "damaged": trial.damaged,
                    "damage": "; ".join(f"{d.path.name}: {d.problem}" for d in trial.damage) or None})
        rows.append(row)
    table = pd.DataFrame(rows)
    for column in searcher_columns:  # trial numbers, with gaps where a trial has none
        table[column] = table[column].astype("Int64")
    if len(table):
        ascending = study.objective.mode == "min"
        table = table.sort_values("score", ascending=ascending, na_position="last", kind="stable")
        table = table.reset_index(drop=True)
    return table


def curves_table(results: StudyResults) -> pd.DataFrame:
    """One row per trial and epoch with every metric the trial reported."""
    names = results.study.trial_kind.short_names(list(results.study.space))
    frames = []
    for trial in results.trials:
        if not len(trial.curve):
            continue
        frame = trial.curve.drop(columns=["trial_id"], errors="ignore")
        frame.insert(0, "trial_id", trial.trial_id)
        for key, name in names.items():
            frame[name] = trial.config.get(key)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["trial_id", "epoch"])
    table = pd.concat(frames, ignore_index=True)
    # Tune's copies of the trial config (the varied settings are already columns) and host details.
    drop = [c for c in table.columns if c.startswith("config") or c in ("date", "hostname", "node_ip", "pid")]
    return table.drop(columns=drop)


def best_trials(table: pd.DataFrame, results: StudyResults, k: int = 3) -> list[dict[str, Any]]:
    """The top-``k`` trials of ``table`` (already ranked), with everything needed to retrain them.

    Trials whose curve or settings were damaged are left out: their scores are not trusted."""
    if not len(table):
        return []
    by_id = {t.trial_id: t for t in results.trials}
    ranked = table[[by_id[trial_id].ranked for trial_id in table["trial_id"]]]
    winners = []
    for _, row in ranked.dropna(subset=["score"]).head(k).iterrows():
        trial = by_id[row["trial_id"]]
        final = trial.curve.iloc[-1].to_dict() if len(trial.curve) else {}
        winners.append({
            "rank": len(winners) + 1,
            "trial_id": trial.trial_id,
            "score": row["score"],
            "config": trial.config,
            "metrics": {key: value for key, value in final.items() if _jsonable(value)},
            "genotype": row["genotype"],
            "genotype_id": row["genotype_id"],
            "genotype_json": trial.genotype_json,
            "checkpoint": trial.checkpoint,
        })
    return winners


def _jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


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


def random_baseline(trials: pd.DataFrame, mode: str = "max") -> pd.DataFrame:
    """Per retrained genotype (searched or random): n seeds, mean, sd and 95% t-interval of its
    score, and for a searched one where its mean ranks among the random genotypes' means.
    Empty unless the study retrained both searched and random genotypes."""
    if "origin" not in trials or "arch" not in trials or not {"searched", "random"} <= set(trials["origin"]):
        return pd.DataFrame()
    table = replicate_table(trials, ["arch"], mode)
    first = trials.groupby("arch", sort=False).first()
    table.insert(1, "origin", table["arch"].map(first["origin"]))
    if "genotype_id" in first:
        table.insert(2, "genotype_id", table["arch"].map(first["genotype_id"]))
    random_means = table.loc[table["origin"] == "random", "mean"].dropna().to_numpy()

    def rank(row: pd.Series) -> str:
        if row["origin"] != "searched" or math.isnan(row["mean"]):
            return ""
        better = int((random_means > row["mean"]).sum() if mode == "max" else (random_means < row["mean"]).sum())
        return (f"rank {better + 1} of {len(random_means) + 1} "
                f"(beats {len(random_means) - better} of {len(random_means)} random)")

    table["rank_among_random"] = table.apply(rank, axis=1)
    order = {"searched": 0, "random": 1}
    best_first = -1 if mode == "max" else 1
    return table.sort_values(["origin", "mean"], key=lambda c: c.map(order) if c.name == "origin" else best_first * c,
                             kind="stable").reset_index(drop=True)


def distinct_genotypes(trials: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Per combination of ``factors`` (and, last, over all trials): how many trials ran, how many
    distinct genotypes they derived (by canonical hash), and the most frequent one.  Empty
    when the trials carry no ``genotype_id``."""
    if "genotype_id" not in trials or not trials["genotype_id"].notna().any():
        return pd.DataFrame()
    groups = [(key if isinstance(key, tuple) else (key,), "setting", group)
              for key, group in trials.groupby(factors, sort=True, dropna=False)] if factors else []
    rows = []
    for key, scope, group in [*groups, ((None,) * len(factors), "all trials", trials)]:
        counts = group["genotype_id"].value_counts()
        rows.append({**dict(zip(factors, key)), "scope": scope, "trials": len(group), "distinct_genotypes": len(counts),
                     "most_frequent": counts.index[0] if len(counts) else None,
                     "its_trials": int(counts.iloc[0]) if len(counts) else 0})
    return pd.DataFrame(rows)
