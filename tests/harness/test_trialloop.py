"""harness.trialloop's compile-cache rule, the same for a trial's process and each of a
data-parallel trial's workers."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from harness.trialloop import use_compile_cache
from snas.compilation import CACHE_ENV


def _loop(compile_mode: str) -> SimpleNamespace:
    return SimpleNamespace(config=SimpleNamespace(compile=compile_mode))


@pytest.fixture
def no_cache_env(monkeypatch):
    """Inductor's cache variable unset, and after the test restored as it was (setenv first
    records the original: a bare delenv of an unset variable records nothing, and what
    use_compile_cache sets would outlive the test)."""
    monkeypatch.setenv(CACHE_ENV, "recorded")
    monkeypatch.delenv(CACHE_ENV)


@pytest.mark.parametrize("mode", ["default", "reduce-overhead", "max-autotune"])
def test_a_compiled_loop_keeps_its_graphs_in_the_study_folder(tmp_path, no_cache_env, mode):
    folder = tmp_path / "study" / "compile_cache"
    use_compile_cache(_loop(mode), str(folder))
    assert os.environ[CACHE_ENV] == str(folder) and folder.is_dir()


def test_an_eager_loop_leaves_inductor_alone(tmp_path, no_cache_env):
    use_compile_cache(_loop("off"), str(tmp_path / "compile_cache"))
    assert CACHE_ENV not in os.environ and not (tmp_path / "compile_cache").exists()


def test_cloud_storage_keeps_inductors_node_local_cache(no_cache_env):
    use_compile_cache(_loop("default"), None)
    assert CACHE_ENV not in os.environ
