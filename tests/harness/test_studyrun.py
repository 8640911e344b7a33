"""How a study run is accounted for once Tune's ``fit()`` returns (or is cut short)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.studyrun import _fit, unfinished_trials


@dataclass
class Result:
    """What ``unfinished_trials`` reads of a ``ray.tune.Result``."""

    metrics: dict[str, Any] = field(default_factory=dict)
    error: Exception | None = None


class Grid(list):
    """What ``unfinished_trials`` reads of a ``ray.tune.ResultGrid``: its results and ``num_errors``."""

    def __init__(self, results: list[Result], num_errors: int) -> None:
        super().__init__(results)
        self.num_errors = num_errors


def test_only_done_or_errored_trials_have_ended():
    grid = Grid([
        Result({"epoch": 4, "done": True}),  # ran all its epochs (or diverged)
        Result({"epoch": 1, "done": True}),  # stopped by ASHA
        Result({"epoch": 2, "done": False}, error=RuntimeError("max_failures used up")),  # ERROR
        Result({"epoch": 2, "done": False}),  # stopped by Ctrl-C (Tune's grid says TERMINATED)
        Result({"epoch": 1, "done": False}, error=RuntimeError("killed")),  # waiting for its retry
        Result({}),  # never started
    ], num_errors=1)
    assert unfinished_trials(grid) == 3


def test_a_finished_study_has_no_unfinished_trial():
    assert unfinished_trials(Grid([Result({"done": True}), Result({"done": True})], num_errors=0)) == 0
    assert unfinished_trials(Grid([Result({"done": True}), Result({}, error=ValueError())], num_errors=1)) == 0


class TunerStoppedTwice:
    def fit(self) -> None:
        raise KeyboardInterrupt


def test_a_second_ctrl_c_gives_the_resume_line_not_a_traceback(capsys):
    assert _fit(TunerStoppedTwice(), "/data/results/sweep") is None
    assert capsys.readouterr().err == ("the study was interrupted before its final state was saved; continue it "
                                       "with: snas-study resume /data/results/sweep\n")
