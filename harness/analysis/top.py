"""The best trials of a study, without building every trial's row.

A row of the trials table (:func:`harness.analysis.trial_rows.trial_rows`) parses the
trial's genotype, derives how it ended and reads every summary metric; `best` prints three
winners and `status` a screenful, so at 10,000 trials building all 10,000 rows is most of
their time.  Ranking needs only each trial's score; :class:`Ranking` orders the trials by
it once, and builds the rows of the few shown.  The rows and their order are the full
table's first rows (:func:`harness.analysis.tables.trials_table`): the same stable sort,
best first, trials without a score last.  Plain Python: `status` and `best` never import
pandas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from harness.analysis.results import StudyResults, TrialRecord
from harness.analysis.trial_rows import Row, Scope, score, trial_rows, winner_record


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

    def rows(self, count: int | None = None) -> list[Row]:
        """The trials-table rows of the first ``count`` trials (all when ``None``)."""
        return self._rows(list(self.order[:count]))

    def winners(self, count: int) -> list[dict[str, Any]]:
        """The first ``count`` trials a ranking may name (a score, an intact curve and
        settings), as :func:`harness.analysis.tables.best_trials` reports winners."""
        chosen = [t for t in self.order if t.ranked and not math.isnan(self.scores[t.trial_id])][:count]
        return [winner_record(trial, rank, row)
                for rank, (trial, row) in enumerate(zip(chosen, self._rows(chosen), strict=True), start=1)]

    def _rows(self, trials: list[TrialRecord]) -> list[Row]:
        return trial_rows(replace(self.results, trials=trials), self.metric, self.scope)
