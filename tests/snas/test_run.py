"""The run lifecycle both loops share: checkpoints from disk are checked before they are used."""

import pytest
import torch
from search_helpers import tiny_search_settings

from snas.catalogue import CATALOGUE
from snas.checkpoint import load_checkpoint, save_checkpoint
from snas.config import SearchConfig
from snas.errors import UserInputError
from snas.retrain import Retrain
from snas.run import check_run_record
from snas.search import Search

GENOTYPE = CATALOGUE["DARTS_V2"].genotype.to_dict()


def crafted(tmp_path, kind="search", **record):
    """A checkpoint file holding ``record`` (plain data, as torch.save of a dict)."""
    path = tmp_path / f"{kind}.pt"
    save_checkpoint(path, kind, record)
    return path


@pytest.fixture(scope="module")
def saved_search(tmp_path_factory):
    """A real one-epoch search checkpoint, and its record."""
    path = tmp_path_factory.mktemp("search") / "checkpoint.pt"
    search = Search(SearchConfig.model_validate(tiny_search_settings(epochs=2)))
    search.run_epoch()
    search.save(path)
    return path, load_checkpoint(path)


def refused(restore, path, message):
    with pytest.raises(UserInputError) as err:
        restore(path)
    text = str(err.value)
    assert str(path) in text and message in text and "\n" not in text, text


@pytest.mark.parametrize("change, message", [
    ({"config": {"epochs": -3}}, "holds an invalid search config: epochs: Input should be greater than or equal to 1"),
    ({"config": {"method": "magic"}}, "method: Value error, unknown search method 'magic'; choose from snas"),
    ({"config": "epochs: 3"}, "its config is not a mapping"),
    ({"epoch": "one"}, "its epoch is 'one', not a count of epochs"),
    ({"state": {"history": 7}}, "its metric history is missing or not a list of epochs"),
    ({"genotype": {**GENOTYPE, "normal": [["magic_op", 0]] * 8}}, "unknown primitive 'magic_op'"),
])
def test_bad_records_are_one_line_naming_the_file(tmp_path, change, message):
    record = {"config": {"epochs": 2}, "split": {"fingerprint": "x"}, "epoch": 1, "genotype": GENOTYPE,
              "state": {"epoch": 1, "history": []}, **change}
    path = crafted(tmp_path, **record)
    refused(Search.restore, path, message)
    refused(lambda p: check_run_record(load_checkpoint(p), p), path, message)


def test_a_record_without_its_state_is_refused(tmp_path):
    path = crafted(tmp_path, config={}, epoch=0, genotype=GENOTYPE)
    refused(Search.restore, path, "it lacks state")


def test_an_invalid_retrain_config_is_refused(tmp_path):
    record = {"config": {"genotype": GENOTYPE, "epochs": 0}, "split": {"fingerprint": "x"}, "epoch": 0,
              "genotype": GENOTYPE, "state": {"epoch": 0, "history": []}}
    refused(Retrain.restore, crafted(tmp_path, "retrain", **record), "invalid retrain config: epochs")


def resave(tmp_path, record, **state_changes):
    state = {**record["state"], **state_changes}
    payload = {k: v for k, v in record.items() if k not in ("format", "version", "kind")}
    return crafted(tmp_path, **{**payload, "state": state})


def test_a_state_missing_the_optimiser_is_refused(tmp_path, saved_search):
    _, record = saved_search
    state = {k: v for k, v in record["state"].items() if k != "arch_optimizer"}
    payload = {k: v for k, v in record.items() if k not in ("format", "version", "kind", "state")}
    path = crafted(tmp_path, **payload, state=state)
    refused(Search.restore, path, "its state lacks arch_optimizer")


@pytest.mark.parametrize("changes, message", [
    ({"diverged": "no"}, "its diverged flag is 'no', not true or false"),
    ({"epoch": 5}, "it says epoch 1 but its state is at epoch 5"),
    ({"alphas": [1, 2]}, "its alphas state is not a mapping"),
    ({"alphas": {"normal": torch.zeros(3, 3), "reduce": torch.zeros(3, 3)}}, "its state does not fit this search"),
    ({"generators": {}}, "its state does not fit this search"),
])
def test_a_state_that_does_not_fit_is_refused(tmp_path, saved_search, changes, message):
    _, record = saved_search
    refused(Search.restore, resave(tmp_path, record, **changes), message)


def test_a_record_without_a_split_fingerprint_is_refused(tmp_path, saved_search):
    _, record = saved_search
    payload = {k: v for k, v in record.items() if k not in ("format", "version", "kind")}
    refused(Search.restore, crafted(tmp_path, **{**payload, "split": {}}), "its data split has no fingerprint")
