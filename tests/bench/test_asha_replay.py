"""ASHA's stop rule replayed on complete curves, against hand-worked examples."""

import json

import pandas as pd
import pytest

from bench.asha_savings import STUDY, curves_from_record, listed_order, replay_asha, rung_spearman, scores, smoothed
from harness.study import validate_study


@pytest.fixture()
def curves():
    scores = {"a": [10, 20, 30, 40], "b": [5, 15, 25, 35], "c": [50, 60, 70, 80]}
    return pd.DataFrame([{"trial_id": t, "training_iteration": e + 1, "search_val_acc": v}
                         for t, values in scores.items() for e, v in enumerate(values)])


def test_trials_in_id_order_stop_below_the_median_of_earlier_arrivals(curves):
    # Rung 1: a goes on (first), b (5) is below the median of [10] and stops, c (50) is
    # above the median of [10, 5]; rung 2: a and c go on.  Epochs: 4 + 1 + 4 of 12.
    assert replay_asha(curves, grace=1, rf=2, max_t=4) == {
        "epoch_fraction": 0.75, "best_gap": 0.0, "winner_rank_at_first_rung": 1}


def test_arrival_order_decides_who_is_judged_against_whom(curves):
    # c arrives first and sets the bar: b (5) and a (10) fall below it at rung 1.
    result = replay_asha(curves, grace=1, rf=2, max_t=4, order=[2, 1, 0])
    assert result["epoch_fraction"] == pytest.approx(6 / 12)
    # a arrives after the best: ASHA stops it, but the best is kept, so no gap.
    assert result["best_gap"] == 0.0


def test_a_stopped_winner_shows_as_a_gap(curves):
    # Reverse the values so the final winner starts worst and arrives last.
    values = {"a": [50, 60, 70, 40], "b": [40, 50, 60, 35], "c": [1, 2, 3, 80]}
    flipped = curves.assign(search_val_acc=curves.apply(
        lambda r: values[r.trial_id][r.training_iteration - 1], axis=1))
    result = replay_asha(flipped, grace=1, rf=2, max_t=4)
    assert result["best_gap"] == 80 - 40  # c stopped at rung 1; a finishes with 40
    assert result["winner_rank_at_first_rung"] == 3


def test_rung_spearman_is_one_when_ranks_never_change(curves):
    assert rung_spearman(curves, 4) == {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0}


def test_listed_order_puts_the_trials_in_tunes_grid_order():
    combos = validate_study({**STUDY, "name": "order"}).grid_combinations()
    shuffled = combos[5:] + combos[:5]
    settings = pd.DataFrame(shuffled, index=[f"t_{i:05d}" for i in range(len(shuffled))])
    order = listed_order(settings)
    assert sorted(order) == list(range(len(combos)))
    assert settings.iloc[order].to_dict("records") == combos


def test_smoothed_scores_are_the_mean_of_the_last_three_epochs(curves):
    shuffled = curves.sample(frac=1.0, random_state=0)  # row order must not matter
    table = scores(smoothed(shuffled))
    assert table.loc["a"].tolist() == [10, 15, 20, 30]
    assert table.loc["c"].tolist() == [50, 55, 60, 70]


def test_replays_can_start_from_a_results_file(curves, tmp_path):
    path = tmp_path / "results.json"
    entry = {"search.temperature.initial": 1.0, "search.temperature.anneal_rate": 0.5}
    record = {t: {**entry, "search_val_acc": [float(v) for v in g.sort_values("training_iteration")["search_val_acc"]]}
              for t, g in curves.groupby("trial_id")}
    path.write_text(json.dumps({"records": [{"bench": "asha_savings", "curves": record}]}))
    read, settings = curves_from_record(path)
    assert scores(read).astype(float).equals(scores(curves).astype(float))
    assert list(settings.index) == ["a", "b", "c"] and set(settings.columns) == set(entry)
