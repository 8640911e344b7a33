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
