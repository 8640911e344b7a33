"""The study files bundled with the package (``snas-study run quickstart``): the repository's
studies/, by name; a file of that name in the working folder wins."""

from pathlib import Path

from harness.study.bundled import bundled_studies, study_file

STUDIES = Path(__file__).resolve().parents[2] / "studies"


def test_every_study_of_the_repository_is_bundled_under_its_name():
    bundled = bundled_studies()
    assert list(bundled) == sorted(path.stem for path in STUDIES.glob("*.yaml"))
    assert "quickstart" in bundled
    for name, path in bundled.items():
        assert path.read_bytes() == (STUDIES / f"{name}.yaml").read_bytes()


def test_a_name_is_a_bundled_study_unless_the_working_folder_has_that_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert study_file("quickstart") == bundled_studies()["quickstart"]
    Path("quickstart").write_text("name: mine\n")
    assert study_file("quickstart") == Path("quickstart")
