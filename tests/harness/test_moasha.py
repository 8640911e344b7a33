"""MO-ASHA's rung decisions against a hand-worked example (Schmucker et al. 2021)."""

from __future__ import annotations

import numpy as np
import pytest
from study_helpers import tiny_study

from harness.nondominated import continues, nondominated_order
from harness.study import validate_study
from harness.tuner import objective_of

# At a rung, minimised (-accuracy, MACs): A (80 %, 2 M), B (70, 1), C (60, 3), the last
# dominated by both.  A new trial D (75, 1.5) is on the first front with A and B.
A, B, C, D = (-80.0, 2.0), (-70.0, 1.0), (-60.0, 3.0), (-75.0, 1.5)


def test_fronts_first_then_the_epsilon_net_within_each():
    """Front 1 = {A, B, D}, front 2 = {C}.  The ε-net starts from the best accuracy (A); B is
    √(10² + 1²) = 10.05 from A, D only √(5² + 0.5²) = 5.02, so B comes next, then D."""
    assert nondominated_order(np.array([A, B, C, D])) == [0, 1, 3, 2]


def test_rung_decisions_worked_by_hand():
    # D is third of four: 2/4 = 0.5 ≤ 1/2 continues under η = 2, but not ≤ 1/3 under η = 3.
    assert continues([A, B, C], D, reduction_factor=2)
    assert not continues([A, B, C], D, reduction_factor=3)
    # E (50 %, 4 M) is dominated by every trial: last of four, 3/4 > 1/2: stopped.
    assert not continues([A, B, C], (-50.0, 4.0), reduction_factor=2)
    # The cheapest trial continues however low its accuracy: it alone is on the first front.
    assert continues([A, B, C], (-10.0, 0.5), reduction_factor=3)
    assert continues([], C, reduction_factor=3)  # the first trial at a rung always continues


def test_moasha_is_built_with_every_objective(tmp_path):
    pytest.importorskip("ray")
    study = validate_study(tiny_study("mo", tmp_path, scheduler={"name": "moasha", "grace_period": 1,
                                                                  "reduction_factor": 2},
                                      objective=[{"metric": "child_val_acc", "mode": "max"},
                                                 {"metric": "eval_macs_m", "mode": "min"}]))
    built = study.scheduler.build(8, data_parallel=False, objective=objective_of(study))
    assert (built._metrics, built._signs, sorted(built._rungs)) == (["child_val_acc", "eval_macs_m"], [-1.0, 1.0],
                                                                    [1.0, 2.0, 4.0])

    class Trial:
        def __init__(self, trial_id):
            self.trial_id = trial_id

    report = {"training_iteration": 1}
    decisions = [built.on_trial_result(None, Trial(name), {**report, "child_val_acc": acc, "eval_macs_m": macs})
                 for name, (acc, macs) in zip("ABCE", [(80, 2), (70, 1), (60, 3), (50, 4)])]
    assert decisions == ["CONTINUE", "CONTINUE", "STOP", "STOP"]  # C: 3rd of 3 > 1/2; E: 4th of 4
