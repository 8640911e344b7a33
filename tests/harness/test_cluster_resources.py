"""harness.cluster.check_resources against a cluster's node list (``ray.nodes()`` stood in
for): a request the cluster cannot hold is refused on local Ray and warned about on a
cluster (which may grow), both with one message naming the settings."""

from __future__ import annotations

import warnings

import pytest
import ray
from study_helpers import tiny_study

from harness.cluster import check_resources
from harness.study import validate_study
from snas.errors import UserInputError


@pytest.fixture
def two_nodes(monkeypatch):
    """Two alive nodes of 2 CPUs and no GPU, and a dead one with 64 CPUs."""
    nodes = [{"Alive": True, "Resources": {"CPU": 2.0}}, {"Alive": True, "Resources": {"CPU": 2.0}},
             {"Alive": False, "Resources": {"CPU": 64.0}}]
    monkeypatch.setattr(ray, "nodes", lambda: nodes)


def _study(tmp_path, **resources):
    return validate_study(tiny_study("s", tmp_path, resources=resources))


def test_requests_that_fit_pass_silently(tmp_path, two_nodes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_resources(_study(tmp_path, cpu=2), None)
        check_resources(_study(tmp_path, workers=2, cpu=2), None)  # one worker on each node


def test_a_trial_no_node_holds_is_refused_locally(tmp_path, two_nodes):
    with pytest.raises(UserInputError) as err:
        check_resources(_study(tmp_path, cpu=3), None)
    assert str(err.value) == ("each trial asks for 3 CPU and 0 GPU (resources.cpu, resources.gpu), but no node of "
                              "this Ray cluster has that much (the largest: 2 CPU, 0 GPU). On this machine try "
                              "--set resources.cpu=2 --set resources.gpu=0, or run on a cluster with --address")


def test_a_worker_group_larger_than_the_cluster_is_refused_locally(tmp_path, two_nodes):
    with pytest.raises(UserInputError) as err:
        check_resources(_study(tmp_path, workers=4, cpu=2), None)
    assert str(err.value) == ("each trial runs on 4 workers of 2 CPU and 0 GPU (resources.workers, resources.cpu, "
                              "resources.gpu): 8 CPU and 0 GPU, but this Ray cluster has 4 CPU and 0 GPU. Lower "
                              "resources.workers or resources.cpu, or run on a cluster with --address")


@pytest.mark.parametrize(("resources", "start"), [({"cpu": 3}, "each trial asks for 3 CPU"),
                                                  ({"workers": 4, "cpu": 2}, "each trial runs on 4 workers")])
def test_on_a_cluster_the_same_problem_is_a_warning_at_the_callers_line(tmp_path, two_nodes, resources, start):
    with pytest.warns(UserWarning) as record:
        check_resources(_study(tmp_path, **resources), "ray://head:10001")
    (warning,) = record
    assert str(warning.message).startswith(start)
    assert str(warning.message).endswith("; trials stay pending until the cluster grows")
    assert warning.filename == __file__  # stacklevel: the line that asked, not the cluster module
