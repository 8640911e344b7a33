"""Methods as objects: the registry, their declared constraints, and the order of their steps."""

import pytest
import torch
from pydantic import ValidationError
from search_helpers import tiny_search_settings

import snas.methods.steps as steps
from snas.config import SearchConfig
from snas.registry import Registry, UnknownName
from snas.search import Search


def test_an_unknown_name_names_the_choices():
    registry = Registry("fruit", {"apple": 1, "pear": 2})
    with pytest.raises(UnknownName, match=r"^unknown fruit 'plum'; choose from apple, pear$"):
        registry["plum"]
    with pytest.raises(UnknownName, match=r"unknown fruit \['apple'\]"):
        registry.check(["apple"])  # an unhashable name from a user's file is refused the same way
    assert registry.check("pear") == "pear" and "plum" not in registry and registry.get("plum") is None


@pytest.mark.parametrize("method, fills", [
    ("snas", {"arch": {"name": "sgd", "weight_decay": 0.0}, "drop_path": 0.3}),
    ("gdas", {"arch": {"name": "adam", "weight_decay": 1e-3}, "drop_path": 0.0}),
])
def test_a_method_fills_in_its_defaults_and_keeps_what_is_given(method, fills):
    config = SearchConfig.model_validate({"method": method, "arch": {"lr": 0.01}})
    assert config.arch.lr == 0.01
    assert config.arch.name == fills["arch"]["name"] and config.arch.weight_decay == fills["arch"]["weight_decay"]
    assert config.drop_path == fills["drop_path"]


@pytest.mark.parametrize("settings, message", [
    ({"method": "gdas", "second_order": True}, "second_order applies to method darts only, not gdas"),
    ({"method": "darts", "second_order": True, "weights": {"nesterov": True}}, "set weights.nesterov: false"),
    ({"weights": {"nesterov": True, "momentum": 0.0}}, "nesterov needs a momentum above 0"),
    ({"method": "darts", "resource": {"method": "policy_gradient"}},
     "resource.method policy_gradient needs the soft Concrete samples of method snas"),
])
def test_combinations_follow_what_methods_declare(settings, message):
    with pytest.raises(ValidationError, match=message):
        SearchConfig.model_validate(settings)


@pytest.mark.parametrize("method, order", [("darts", ["arch", "weights"]), ("gdas", ["weights", "arch"])])
def test_the_public_step_runs_the_bilevel_halves_in_the_reference_order(monkeypatch, method, order):
    search = Search(SearchConfig.model_validate(tiny_search_settings(method=method)))
    calls = []
    monkeypatch.setattr(steps, "step_arch", lambda *args: calls.append("arch") or True)
    monkeypatch.setattr(steps, "step_weights", lambda *args: calls.append("weights") or True)
    batch = next(search.data.train.train_epoch(search.generators["data"]))
    assert search.train_step(batch, batch, 1.0)
    assert calls == order


def test_a_bilevel_step_without_a_validation_batch_is_a_programming_error():
    search = Search(SearchConfig.model_validate(tiny_search_settings(method="gdas")))
    batch = next(search.data.train.train_epoch(search.generators["data"]))
    with pytest.raises(ValueError, match="needs a validation batch"):
        search.train_step(batch, None, 1.0)


@pytest.mark.parametrize("method, clip, tau, penalty", [
    ("snas", 10.0, (1.0, 0.03), ("reparametrization", 1e-2, True)),
    ("gdas", None, (10.0, 0.1), ("none", 0.0, True)),
    ("darts", None, (1.0, 0.03), ("none", 0.0, True)),
])
def test_each_method_defaults_to_its_official_search(method, clip, tau, penalty):
    config = SearchConfig.model_validate({"method": method})
    epochs, batch, decay, nesterov = {"snas": (150, 64, 3e-4, False), "darts": (50, 64, 3e-4, False),
                                      "gdas": (250, 256, 5e-4, True)}[method]
    assert (config.epochs, config.batch_size, config.weights.weight_decay, config.weights.nesterov) == \
        (epochs, batch, decay, nesterov)
    assert config.arch.grad_clip == clip
    assert (config.temperature.initial, config.temperature.min) == tau
    assert (config.resource.method, config.resource.lambda_, config.resource.log_penalty) == penalty


def test_a_method_default_gives_way_to_the_study():
    config = SearchConfig.model_validate({"method": "snas", "arch": {"grad_clip": None},
                                          "resource": {"log_penalty": False}})
    assert config.arch.grad_clip is None
    assert (config.resource.method, config.resource.lambda_) == ("reparametrization", 1e-5)
    gdas = SearchConfig.model_validate({"method": "gdas", "temperature": {"initial": 5.0}})
    assert (gdas.temperature.initial, gdas.temperature.min) == (5.0, 0.1)


@pytest.mark.parametrize("method, clips", [("snas", [5.0, 10.0]), ("gdas", [5.0]), ("darts", [5.0])])
def test_only_snas_clips_the_arch_gradient(monkeypatch, method, clips):
    """θ is clipped at 5 by every method; α at 10 by SNAS only (DARTS's Architect.step and GDAS do not)."""
    search = Search(SearchConfig.model_validate(tiny_search_settings(method=method)))
    seen = []
    clip = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda params, max_norm: seen.append(max_norm)
                        or clip(params, max_norm))
    batch = next(search.data.train.train_epoch(search.generators["data"]))
    assert search.train_step(batch, batch, 1.0)
    assert sorted(seen) == clips
