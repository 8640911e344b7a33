"""The best trials of a study, without building every trial's row.

A row of the trials table (:func:`harness.analysis.tables.trials_table`) parses the trial's
genotype, derives how it ended and reads every summary metric; `best` prints three winners
and `status` a screenful, so at 10,000 trials building all 10,000 rows is most of their
time.  Ranking needs only each trial's score; :class:`Ranking` orders the trials by it
once, and builds the rows of the few shown.  The rows and their order are the full table's
first rows: the same stable sort, best first, trials without a score last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from harness.analysis.results import StudyResults, TrialRecord
from harness.analysis.tables import Scope, score, trials_table


@dataclass(frozen=True)
class Ranking:
    """The trials of ``results`` ranked by ``metric`` (``scope``: last epoch or best)."""

    results: StudyResults
    metric: str
    scope: Scope
    order: tuple[TrialRecord, ...]
    """Every trial, best first, those without a score last, ties in folder order."""
    scores: dict[str, float]

    @classmethod
    def of(cls, results: StudyResults, metric: str, scope: Scope) -> Ranking:
        mode = results.study.mode
        scores = {t.trial_id: score(t.rows, metric, scope, mode) for t in results.trials}
        sign = -1.0 if mode == "max" else 1.0
        order = sorted(results.trials, key=lambda t: (math.isnan(scores[t.trial_id]),
                                                      0.0 if math.isnan(scores[t.trial_id])
                                                      else sign * scores[t.trial_id]))
        return cls(results, metric, scope, tuple(order), scores)

    def __len__(self) -> int:
        return len(self.order)

    def table(self, rows: int | None = None) -> pd.DataFrame:
        """The trials table of the first ``rows`` trials (all when ``None``)."""
        return self._table(list(self.order[:rows]))

    def ranked(self, rows: int) -> tuple[pd.DataFrame, StudyResults]:
        """The table of the first ``rows`` trials a ranking may name (a score, intact curve and
        settings: :func:`harness.analysis.tables.best_trials`' winners), with the results
        they are a part of, for ``best_trials``."""
        chosen = [t for t in self.order if t.ranked and not math.isnan(self.scores[t.trial_id])][:rows]
        return self._table(chosen), replace(self.results, trials=chosen)

    def _table(self, trials: list[TrialRecord]) -> pd.DataFrame:
        return trials_table(replace(self.results, trials=trials), self.metric, self.scope)
