"""The package as users install it: ``python -m build`` makes an sdist and, from the sdist, a
wheel; the wheel goes into a fresh virtual environment and the installed ``snas-study`` runs
there, from a folder outside the repository.

The fresh environment gets the wheel only (``pip install --no-deps --no-index``).  Its
dependencies (torch, Ray: gigabytes) come from the environment running the tests, through
a ``.pth`` file naming that environment's site-packages folders.  Python adds a folder a
``.pth`` file names to ``sys.path`` without reading the ``.pth`` files inside it, so the
editable install of snas-study there (an import hook started by its own ``.pth`` file)
stays off: ``snas`` and ``harness`` can only come from the wheel, and a module or data
file missing from it fails here.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from search_helpers import tiny_search_settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("snas", "harness")


def _version() -> str:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    return config["metadata"]["version"]


def _isolated_env() -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH pointing at a source tree."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return {**env, "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "1"}


def _run(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], cwd=cwd, env=_isolated_env(), capture_output=True,
                          text=True, timeout=300)


def _not_sources(folder: str, names: list[str]) -> list[str]:
    """What a copy of the repository leaves out: hidden folders (.git, .venv), caches, build
    outputs and, at the top, the results and data folders."""
    top = {"results", "data", "build", "dist"} if Path(folder) == REPO else set()
    return [name for name in names
            if name.startswith(".") or name == "__pycache__" or name.endswith(".egg-info") or name in top]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel ``python -m build`` makes of a copy of the source tree (building
    writes an egg-info folder next to the sources; the repository stays as it was).

    ``--no-isolation`` builds with this environment's setuptools (pinned in constraints.txt)
    in 1.5 s, where an isolated build, as users run it, installs setuptools into two fresh
    environments first (10 s)."""
    source = tmp_path_factory.mktemp("source") / "snas-study"
    shutil.copytree(REPO, source, symlinks=True, ignore=_not_sources)
    out = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source], cwd=out)
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def _dependency_folders() -> list[str]:
    """The folders our environment has distributions installed in (its site-packages), the
    source tree left out."""
    folders = {Path(str(dist.locate_file(""))).resolve() for dist in metadata.distributions()}
    return sorted(str(folder) for folder in folders if not _holds_sources(folder))


def _holds_sources(folder: Path) -> bool:
    """Whether ``folder`` on ``sys.path`` would import our packages from the source tree (the
    repository itself; our environment may live inside it, as CI's ``.venv`` does)."""
    return any((folder / package).is_dir() for package in PACKAGES)


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the wheel, its dependencies read from ours.  It
    has no pip of its own (ensurepip takes 10 s): ours installs into it (``pip --python``,
    pip 22.3 or later)."""
    root = tmp_path_factory.mktemp("venv")
    assert _run([sys.executable, "-m", "venv", "--without-pip", root], cwd=root).returncode == 0
    python = root / "bin" / "python"
    (wheel,) = dist.glob("*.whl")
    pip = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel], cwd=root)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root)
    (Path(site.stdout.strip()) / "_dependencies_of_the_test_environment.pth").write_text(
        "".join(f"{folder}\n" for folder in _dependency_folders()))
    return root


def test_the_sdist_and_wheel_hold_every_module_and_study(dist):
    version = _version()
    assert sorted(path.name for path in dist.iterdir()) == [f"snas_study-{version}-py3-none-any.whl",
                                                            f"snas_study-{version}.tar.gz"]
    (wheel,) = dist.glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    sources = {path.relative_to(REPO).as_posix() for package in PACKAGES for path in (REPO / package).rglob("*.py")}
    assert sources - shipped == set()
    studies = {f"harness/studies/{path.name}" for path in (REPO / "studies").glob("*.yaml")}
    assert studies and studies <= shipped


def test_the_installed_command_runs_a_search_outside_the_source_tree(venv, tmp_path):
    bin_dir = venv / "bin"
    probe = _run([bin_dir / "python", "-c", "import json, sys, snas, harness; print(json.dumps([snas.__file__, "
                  "harness.__file__, [m for m in sys.modules if 'editable' in m], sys.path]))"], cwd=tmp_path)
    snas_file, harness_file, editable_hooks, path = json.loads(probe.stdout)
    assert Path(snas_file).is_relative_to(venv) and Path(harness_file).is_relative_to(venv)
    assert editable_hooks == []
    assert [entry for entry in path if entry and _holds_sources(Path(entry).resolve())
            and not Path(entry).resolve().is_relative_to(venv)] == []

    version = _run([bin_dir / "snas-study", "--version"], cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, f"snas-study {_version()}\n")

    config = tmp_path / "search.yaml"
    config.write_text(yaml.safe_dump(tiny_search_settings(epochs=1)))
    search = _run([bin_dir / "snas-study", "search", "--config", config, "--out", "run", "--quiet"], cwd=tmp_path)
    assert search.returncode == 0, search.stdout + search.stderr
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics] == [1]
    assert (tmp_path / "run" / "genotype.json").is_file()


def test_the_installed_command_finds_its_bundled_studies_by_name(venv, tmp_path):
    """The bundled quickstart is read from inside the environment (its path is in the
    refusal of a bad override, which stops it before Ray starts)."""
    bad = _run([venv / "bin" / "snas-study", "run", "quickstart", "--set", "scheduler.grace_period=0"],
               cwd=tmp_path)
    assert bad.returncode == 2, bad.stderr
    (line,) = bad.stderr.splitlines()
    prefix = "snas-study: error: invalid study "
    assert line.startswith(prefix)
    bundled = Path(line.removeprefix(prefix).split(":")[0])
    assert bundled.name == "quickstart.yaml" and bundled.is_relative_to(venv)
    assert bundled.read_text() == (REPO / "studies" / "quickstart.yaml").read_text()
