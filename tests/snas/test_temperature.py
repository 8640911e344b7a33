import pytest

from snas.temperature import TemperatureSchedule


def schedule(kind, per="epoch", **kw):
    args = dict(schedule=kind, initial=1.0, minimum=0.03, anneal_rate=0.9, per=per, epochs=11, steps_per_epoch=4)
    args.update(kw)
    return TemperatureSchedule(**args)


def test_exponential_per_epoch():
    s = schedule("exponential")
    assert s.at(0) == pytest.approx(1.0)
    assert s.at(1) == pytest.approx(0.9)
    assert s.at(5) == pytest.approx(0.9**5)
    assert schedule("exponential", anneal_rate=0.5).at(10) == pytest.approx(0.03)  # 0.5**10 < τ_min: clamped


def test_linear_reaches_min_at_the_runs_last_epoch():
    s = schedule("linear")
    assert s.at(0) == pytest.approx(1.0)
    assert s.at(5) == pytest.approx(1.0 - 0.97 * 5 / 10)
    assert s.at(10) == pytest.approx(0.03)


def test_constant_stays():
    assert schedule("constant").at(7) == pytest.approx(1.0)


def test_per_step_uses_fractional_epochs():
    s = schedule("exponential", per="step")
    assert s.at(2, 2) == pytest.approx(0.9**2.5)
    linear = schedule("linear", per="step")
    assert linear.at(10, 3) == pytest.approx(0.03)  # last step of the run
    assert linear.at(0, 2) == pytest.approx(1.0 - 0.97 * 2 / 43)


@pytest.mark.parametrize("kw, message", [
    ({"schedule": "cubic"}, "unknown schedule .cubic.; choose from"),
    ({"minimum": 2.0}, "must not exceed initial"),
    ({"anneal_rate": 1.5}, "anneal_rate"),
    ({"anneal_rate": 0.0}, "anneal_rate"),
])
def test_bad_schedules_are_refused(kw, message):
    args = dict(schedule="exponential", initial=1.0, minimum=0.03, anneal_rate=0.9, per="epoch",
                epochs=5, steps_per_epoch=2)
    args.update(kw)
    with pytest.raises(ValueError, match=message):
        TemperatureSchedule(**args)


def test_a_retuned_exponential_schedule_continues_from_the_tau_it_reached():
    s = schedule("exponential", initial=2.0, minimum=0.01, anneal_rate=0.5)
    assert [s.at(e) for e in range(3)] == [2.0, 1.0, 0.5]
    s.retune(3, initial=3.0, anneal_rate=0.8, minimum=0.01)  # at epoch 3 τ would be 0.25; τ0 2 -> 3 scales it by 1.5
    assert s.at(3) == pytest.approx(0.375)
    assert s.at(4) == pytest.approx(0.375 * 0.8)
    assert s.at(6) == pytest.approx(0.375 * 0.8**3)
    s.retune(5, initial=3.0, anneal_rate=0.8, minimum=0.2)  # only the minimum changes: τ stays, then is clamped
    assert s.at(5) == pytest.approx(0.375 * 0.8**2)
    assert s.at(6) == pytest.approx(0.2)


def test_a_retuned_linear_schedule_still_reaches_its_minimum_at_the_last_epoch():
    s = schedule("linear", initial=1.0, minimum=0.1, epochs=11)
    s.retune(5, initial=0.5, anneal_rate=0.9, minimum=0.2)  # τ(5) = 0.55, halved: 0.275, then on to 0.2 at 10
    assert s.at(5) == pytest.approx(0.275)
    assert s.at(7) == pytest.approx(0.275 - (0.275 - 0.2) * 2 / 5)
    assert s.at(10) == pytest.approx(0.2)


def test_a_retuned_per_step_schedule_anchors_at_the_epochs_first_step():
    s = schedule("exponential", per="step", initial=1.0, anneal_rate=0.5)
    s.retune(2, initial=1.0, anneal_rate=0.25, minimum=0.03)
    assert s.at(2, 0) == pytest.approx(0.25)
    assert s.at(2, 2) == pytest.approx(0.25 * 0.25**0.5)
    assert s.at(3, 0) == pytest.approx(0.25 * 0.25)


def test_an_untouched_schedule_round_trips_its_state():
    s = schedule("exponential")
    restored = schedule("exponential")
    restored.load_state_dict(s.state_dict())
    assert [restored.at(e) for e in range(11)] == [s.at(e) for e in range(11)]
    s.retune(4, initial=2.0, anneal_rate=0.7, minimum=0.03)
    restored = schedule("exponential", initial=2.0, anneal_rate=0.7)
    restored.load_state_dict(s.state_dict())
    assert [restored.at(e) for e in range(4, 11)] == [s.at(e) for e in range(4, 11)]
