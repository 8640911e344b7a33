"""A retrain study made from a finished search study's winners.

The top-k genotypes (ranked by the search study's objective) are retrained from scratch
with n seeds each, as a Ray Tune study of its own named ``<search study>-retrain``.  It
records, per genotype, the score its search reported, so its analysis can set searched
against retrained accuracy.
"""

from __future__ import annotations

from typing import Any

from harness.analysis.results import StudyResults
from harness.analysis.tables import best_trials, trials_table
from harness.study import Study, apply_study_overrides, validate_study
from snas.errors import UserInputError
from snas.genotype import Genotype


def retrain_study(source: StudyResults, top: int, seeds: int, overrides: list[str]) -> Study:
    src = source.study
    if src.kind != "search":
        raise UserInputError(f"{source.path} is a {src.kind} study; retrain the winners of a search study")
    winners = best_trials(trials_table(source, src.metric, "last"), source, top)
    if not winners:
        raise UserInputError(f"no trial of {source.path} has reported {src.metric} yet; nothing to retrain")
    genotypes = {
        w["trial_id"]: w["genotype_json"] or Genotype.parse(w["genotype"]).to_dict() for w in winners
    }
    val_fraction = src.retrain.settings.get("val_fraction", 0.1)
    data: dict[str, Any] = {
        "name": f"{src.name}-retrain",
        "kind": "retrain",
        "description": f"The top {len(winners)} genotypes of {src.name} (by {src.metric}) trained from scratch "
                       f"with {seeds} seed(s) each.",
        "data": src.data.model_dump(mode="json"),
        "retrain": {"top": top, "seeds": seeds, "settings": dict(src.retrain.settings)},
        "genotypes": genotypes,
        "space": {"retrain.settings.genotype": {"grid": list(genotypes)},
                  "retrain.settings.seed": {"grid": list(range(seeds))}},
        "objective": {"metric": "val_acc" if val_fraction > 0 else "test_acc", "mode": "max"},
        "searcher": {"name": "grid"},
        "scheduler": {"name": "fifo"},
        "resources": src.resources.model_dump(mode="json"),
        "storage": src.storage.model_dump(mode="json"),
        "failures": src.failures.model_dump(mode="json"),
        "checkpoint_every": src.checkpoint_every,
        "source": {"study": str(source.path), "metric": src.metric,
                   "scores": {w["trial_id"]: w["score"] for w in winners}},
    }
    return validate_study(apply_study_overrides(data, overrides), f"{src.name}-retrain").resolved()
