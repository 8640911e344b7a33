"""Data problems a user can cause end the search command with one clear line and exit code 2."""

import re
import urllib.error
import urllib.request

import pytest
import yaml
from PIL import Image
from study_helpers import tiny_study, write_study

from harness.cli import main
from harness.study import load_study, validate_study
from harness.studyrun import check_data
from snas.errors import UserInputError


@pytest.fixture
def search(tmp_path, capsys, tiny_settings):
    def run(early=True, **data):
        """Run ``snas-study search`` with these data settings; (exit code, stderr).

        ``early``: the problem shows before the search starts, so it writes nothing.
        """
        config = tmp_path / "search.yaml"
        config.write_text(yaml.safe_dump(tiny_settings(data=data)))
        code = main(["search", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet"])
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert not early or not (tmp_path / "out").exists()
        return code, err

    return run


def write_folder(root, classes, n=10, size=8):
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (size, size), (40 * k, 200, i)).save(root / name / f"{i}.png")


@pytest.mark.parametrize("dataset, expected", [
    ("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python"), ("svhn", "train_32x32.mat")])
def test_absent_download_sets(tmp_path, search, dataset, expected):
    code, err = search(dataset=dataset, root=str(tmp_path / "data"))
    assert code == 2
    assert err.startswith("snas-study: error: ")
    assert f"not found (or incomplete) at {tmp_path / 'data' / expected}. Download and " in err
    assert "set data.download: true on a machine with network access" in err


def test_download_without_network(tmp_path, search, monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    code, err = search(dataset="cifar10", root=str(tmp_path / "data"), download=True)
    assert code == 2
    assert err.startswith(f"snas-study: error: could not download CIFAR-10 into {tmp_path / 'data'} (URLError: ")
    assert f"Without network here, download and extract https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz " \
           f"into {tmp_path / 'data'} from another machine, then set data.download: false." in err


def test_image_folder_without_classes(tmp_path, search):
    (tmp_path / "images" / "empty").mkdir(parents=True)
    code, err = search(dataset="imagefolder", root=str(tmp_path / "images"))
    assert code == 2
    assert f"snas-study: error: image folder {tmp_path / 'images'} has no class sub-folders with images" in err


def test_image_folder_with_one_class(tmp_path, search):
    write_folder(tmp_path / "images", ["only"])
    code, err = search(dataset="imagefolder", root=str(tmp_path / "images"))
    assert code == 2
    assert "has only one class (only); a classifier needs at least two" in err


def test_unreadable_image_is_named(tmp_path, search):
    write_folder(tmp_path / "images", ["a", "b"], n=50)
    broken = tmp_path / "images" / "b" / "7.png"
    broken.write_bytes(b"GIF89a but not really")
    code, err = search(dataset="imagefolder", root=str(tmp_path / "images"), image_size=8)
    assert code == 2
    assert err.startswith(f"snas-study: error: cannot read image {broken}: ")
    assert err.count("\n") == 1


def test_unreadable_image_in_a_streamed_folder_is_named(tmp_path, search):
    """Decoded in a DataLoader worker during the first epoch; the message is still one line."""
    write_folder(tmp_path / "images", ["a", "b"], n=50)
    for path in (tmp_path / "images" / "b").iterdir():  # every batch holds one: fails at the first
        path.write_bytes(b"GIF89a but not really")
    code, err = search(early=False, dataset="imagefolder", root=str(tmp_path / "images"), image_size=8,
                       in_memory="no", workers=1)
    assert code == 2
    assert re.fullmatch(f"snas-study: error: cannot read image {re.escape(str(tmp_path))}/images/b/[0-9]+\\.png: "
                        f"not an image PIL can identify; remove or replace it\n", err), err


def test_images_too_small_for_the_network(tmp_path, search):
    write_folder(tmp_path / "images", ["a", "b"], n=50)
    code, err = search(dataset="imagefolder", root=str(tmp_path / "images"), image_size=6)
    assert code == 2
    assert err.startswith("snas-study: error: images of 6×6 pixels are too small or oddly sized for a 3-cell "
                          "search network: it halves the resolution 2 times, so height and width must be "
                          "multiples of 4")


def issue_study(tmp_path, **data):
    """The issue's study: a valid 2-class folder at image_size 16, batch 4, a 3-cell C=4 search."""
    write_folder(tmp_path / "images", ["a", "b"], n=12, size=16)
    study = tiny_study("folder", tmp_path / "results", search={"batch_size": 4, "layers": 3, "init_channels": 4})
    study["data"] = {"dataset": "imagefolder", "root": str(tmp_path / "images"), "image_size": 16, **data}
    return study


def test_an_image_folder_study_is_sized_by_its_real_classes_and_images(tmp_path, monkeypatch):
    """Once refused as needing 64.1 GiB (1000 classes taken as a 1000-pixel side); it needs
    about 0.1 GiB.  `run` validates it like this before starting Ray (end to end:
    test_tune_e2e's image-folder study)."""
    monkeypatch.setattr("snas.memory.available_bytes", lambda device: 2**30)
    path = write_study(tmp_path / "folder.yaml", issue_study(tmp_path))
    assert load_study(path).data.image_size == 16
    with pytest.raises(UserInputError, match="a 3-cell search network with C=512 at batch 4 needs about"):
        load_study(path, ["search.init_channels=512"])


def test_a_study_whose_folder_is_elsewhere_still_validates(tmp_path):
    """Its frozen study.yaml is read wherever it is analysed; the folder is looked for by
    `run` (check_data) and by each trial, which checks its memory once it has loaded it."""
    study = validate_study(issue_study(tmp_path, root=str(tmp_path / "not_here")))
    with pytest.raises(UserInputError, match="not_here does not exist"):
        check_data(study, address=None)
