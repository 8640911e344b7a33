"""The data-set registry, its loaders (through torchvision for CIFAR and SVHN), splits and errors.

CIFAR and SVHN are written by the tests in their real on-disk formats (pickled batches,
MATLAB files) and parsed by torchvision's own classes; only torchvision's md5 check is
replaced by an existence check, since the files are not the published ones.
"""

import os
import pickle
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from snas.data.batches import DeviceBatches, StreamedBatches
from snas.data.config import DataConfig
from snas.data.loading import check_image_size, load_split, retrain_data, search_data
from snas.data.sets import DATASETS, ImageFiles, ImageSet, check_present, stratified_holdout
from snas.errors import UserInputError

CPU = torch.device("cpu")


def config(**settings):
    return DataConfig.model_validate(settings)


def test_registry_names_and_default():
    assert set(DATASETS) == {"digits", "synthetic", "cifar10", "cifar100", "svhn", "imagefolder"}
    assert DataConfig().dataset == "digits"
    with pytest.raises(ValueError, match="unknown data set 'mnist'; choose from digits"):
        config(dataset="mnist")


# --- digits and synthetic -----------------------------------------------------------------

def test_digits_is_bundled_8x8_grey_with_a_fixed_stratified_test_part():
    train, test = load_split(config(), "train"), load_split(config(), "test")
    assert isinstance(train, ImageSet)
    assert train.images.shape[1:] == test.images.shape[1:] == (1, 8, 8)
    assert train.images.dtype == torch.uint8 and train.labels.dtype == torch.int64
    assert len(train) + len(test) == 1797
    assert train.images.max() == 255 and train.images.min() == 0
    assert set(train.labels.tolist()) == set(test.labels.tolist()) == set(range(10))
    per_class = torch.bincount(test.labels).double() / (torch.bincount(test.labels) + torch.bincount(train.labels))
    assert torch.allclose(per_class, torch.full((10,), 0.2, dtype=torch.float64), atol=0.01)
    again = load_split(config(), "test")
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)


def test_digits_read_from_scikit_learns_file_are_its_load_digits(monkeypatch):
    from sklearn.datasets import load_digits

    from snas.data import sets

    digits = load_digits()
    table = sets.digits_table()
    assert np.array_equal(table[:, :64].reshape(-1, 8, 8), digits.images)
    assert np.array_equal(table[:, 64].astype(np.int64), digits.target)
    monkeypatch.setattr(sets, "DIGITS_FILE", Path("no") / "such.csv.gz")  # a layout we do not know
    assert np.array_equal(sets.digits_table(), table)


def test_stratified_holdout_is_disjoint_complete_and_fixed():
    labels = torch.tensor([0] * 50 + [1] * 10 + [2] * 5)
    kept, held = stratified_holdout(labels, 0.2)
    assert sorted(kept.tolist() + held.tolist()) == list(range(65))
    assert torch.bincount(labels[held]).tolist() == [10, 2, 1]
    assert torch.equal(held, stratified_holdout(labels, 0.2)[1])


def test_synthetic_shapes_follow_its_config():
    cfg = config(dataset="synthetic", synthetic={"classes": 3, "image_size": 12, "train_images": 30,
                                                  "test_images": 10})
    train, test = load_split(cfg, "train"), load_split(cfg, "test")
    assert train.images.shape == (30, 3, 12, 12) and test.images.shape == (10, 3, 12, 12)
    assert train.images.dtype == torch.uint8 and set(train.labels.tolist()) <= {0, 1, 2}
    assert train.classes == ("class0", "class1", "class2")


# --- CIFAR and SVHN through torchvision ---------------------------------------------------

@pytest.fixture
def md5_not_checked(monkeypatch):
    """torchvision checks the md5 of the published files; ours only have to exist."""
    from torchvision.datasets import cifar, svhn

    exists = lambda fpath, md5=None: os.path.isfile(fpath)
    monkeypatch.setattr(cifar, "check_integrity", exists)
    monkeypatch.setattr(svhn, "check_integrity", exists)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def cifar_pixels(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)


def write_cifar10(root, per_batch=4):
    """cifar-10-batches-py as published: pickled dicts, rows of 3072 bytes (R, G, B planes)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train = []
    for b in range(1, 6):
        pixels, labels = cifar_pixels(per_batch, b), [(b + i) % 10 for i in range(per_batch)]
        train.append((pixels, labels))
        entry = {"batch_label": f"training batch {b} of 5", "labels": labels,
                 "data": pixels.reshape(per_batch, 3072), "filenames": [f"img{b}_{i}.png" for i in range(per_batch)]}
        (folder / f"data_batch_{b}").write_bytes(pickle.dumps(entry))
    test_pixels, test_labels = cifar_pixels(3, 0), [9, 0, 4]
    (folder / "test_batch").write_bytes(pickle.dumps(
        {"batch_label": "testing batch 1 of 1", "labels": test_labels, "data": test_pixels.reshape(3, 3072),
         "filenames": ["t0.png", "t1.png", "t2.png"]}))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps(
        {"num_cases_per_batch": per_batch, "label_names": names, "num_vis": 3072}))
    pixels = np.concatenate([p for p, _ in train])
    return pixels, [label for _, ls in train for label in ls], test_pixels, test_labels, names


def write_cifar100(root):
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    sets = {}
    for name, n, seed in (("train", 6, 1), ("test", 2, 2)):
        pixels, fine = cifar_pixels(n, seed), [(7 * i + seed) % 100 for i in range(n)]
        sets[name] = (pixels, fine)
        (folder / name).write_bytes(pickle.dumps(
            {"filenames": [f"{name}{i}.png" for i in range(n)], "batch_label": f"{name} batch",
             "fine_labels": fine, "coarse_labels": [f // 5 for f in fine], "data": pixels.reshape(n, 3072)}))
    fine_names = [f"fine{i}" for i in range(100)]
    (folder / "meta").write_bytes(pickle.dumps(
        {"fine_label_names": fine_names, "coarse_label_names": [f"coarse{i}" for i in range(20)]}))
    return sets, fine_names


def write_svhn(root):
    """{train,test}_32x32.mat as published: X is H×W×C×N uint8, y is N×1 with 10 for the digit 0."""
    from scipy.io import savemat

    root.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, n in (("train", 5), ("test", 3)):
        x = np.random.default_rng(n).integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = np.array([[10], [1], [2], [10], [9]][:n], dtype=np.uint8)
        savemat(root / f"{split}_32x32.mat", {"X": x, "y": y})
        written[split] = (x, y)
    return written


def test_cifar10_is_parsed_by_torchvision_into_nchw_uint8(tmp_path, md5_not_checked):
    pixels, labels, test_pixels, test_labels, names = write_cifar10(tmp_path)
    cfg = config(dataset="cifar10", root=tmp_path)
    train, test = load_split(cfg, "train"), load_split(cfg, "test")
    assert train.images.shape == (20, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.images.is_contiguous()
    assert np.array_equal(train.images.numpy(), pixels)  # channel c, row y, column x as written
    assert train.labels.tolist() == labels and train.labels.dtype == torch.int64
    assert np.array_equal(test.images.numpy(), test_pixels) and test.labels.tolist() == test_labels
    assert train.classes == tuple(names)


def test_cifar100_uses_the_fine_labels(tmp_path, md5_not_checked):
    sets, fine_names = write_cifar100(tmp_path)
    cfg = config(dataset="cifar100", root=tmp_path)
    for split in ("train", "test"):
        loaded = load_split(cfg, split)
        assert np.array_equal(loaded.images.numpy(), sets[split][0])
        assert loaded.labels.tolist() == sets[split][1]
    assert len(loaded.classes) == 100 and loaded.classes[3] == "fine3"


def test_svhn_is_parsed_by_torchvision_with_label_10_as_digit_0(tmp_path, md5_not_checked):
    written = write_svhn(tmp_path)
    cfg = config(dataset="svhn", root=tmp_path)
    train = load_split(cfg, "train")
    x, y = written["train"]
    assert train.images.shape == (5, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.images.is_contiguous()
    assert np.array_equal(train.images.numpy(), x.transpose(3, 2, 0, 1))  # image n, channel c = X[y, x, c, n]
    assert train.labels.tolist() == [0, 1, 2, 0, 9]
    assert train.classes == tuple(str(d) for d in range(10))
    assert load_split(cfg, "test").labels.tolist() == [0, 1, 2]


def test_cifar_search_data_uses_the_published_statistics_and_its_default_augmentation(tmp_path, md5_not_checked):
    write_cifar10(tmp_path)
    data = search_data(config(dataset="cifar10", root=tmp_path), seed=0, batch_size=4, device=CPU)
    assert isinstance(data.train, DeviceBatches)
    assert data.image_shape == (3, 32, 32) and data.num_classes == 10
    torch.testing.assert_close(data.train.mean, torch.tensor(DATASETS["cifar10"].mean))
    assert data.train.augmentation.crop_padding == 4 and data.train.augmentation.flip
    x, y = next(data.train.train_epoch(torch.Generator().manual_seed(0)))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64


CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
SVHN_URL = "http://ufldl.stanford.edu/housenumbers/train_32x32.mat"


@pytest.mark.parametrize("dataset, title, expected, fetch", [
    ("cifar10", "CIFAR-10", "cifar-10-batches-py", f"extract {CIFAR10_URL} into {{root}}"),
    ("cifar100", "CIFAR-100", "cifar-100-python", f"extract {CIFAR100_URL} into {{root}}"),
    ("svhn", "SVHN", "train_32x32.mat", f"save {SVHN_URL} as {{root}}/train_32x32.mat"),
])
def test_absent_files_say_where_to_put_them(tmp_path, dataset, title, expected, fetch):
    with pytest.raises(UserInputError) as err:
        load_split(config(dataset=dataset, root=tmp_path), "train")
    assert str(err.value) == (
        f"{title} not found (or incomplete) at {tmp_path / expected}. Download and {fetch.format(root=tmp_path)}, "
        f"point data.root at the folder that holds {expected}, or set data.download: true "
        f"on a machine with network access.")


@pytest.mark.parametrize("dataset, title, fetch", [
    ("cifar10", "CIFAR-10", f"extract {CIFAR10_URL} into {{root}}"),
    ("svhn", "SVHN", f"save {SVHN_URL} as {{root}}/train_32x32.mat"),
])
def test_download_without_network_says_where_to_copy_the_files(tmp_path, no_network, dataset, title, fetch):
    with pytest.raises(UserInputError) as err:
        load_split(config(dataset=dataset, root=tmp_path, download=True), "train")
    message = str(err.value)
    assert message.startswith(f"could not download {title} into {tmp_path} (URLError: ")
    assert "no network in this test" in message
    assert message.endswith(f"Without network here, download and {fetch.format(root=tmp_path)} from another "
                            f"machine, then set data.download: false.")


def test_incomplete_cifar_folder_is_reported_as_absent(tmp_path, md5_not_checked):
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(UserInputError, match="CIFAR-10 not found \\(or incomplete\\)"):
        load_split(config(dataset="cifar10", root=tmp_path), "train")


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "svhn"])
def test_presence_check_says_what_the_loader_says_without_reading(tmp_path, dataset):
    with pytest.raises(UserInputError) as loaded:
        load_split(config(dataset=dataset, root=tmp_path), "train")
    with pytest.raises(UserInputError) as checked:
        check_present(config(dataset=dataset, root=tmp_path))
    assert str(checked.value) == str(loaded.value)
    check_present(config(dataset=dataset, root=tmp_path, download=True))  # only the download can tell


def test_presence_check_passes_real_files_and_bundled_sets(tmp_path):
    write_cifar10(tmp_path)
    write_svhn(tmp_path)
    check_present(config(dataset="cifar10", root=tmp_path))
    check_present(config(dataset="svhn", root=tmp_path))
    check_present(config(dataset="digits", root=tmp_path / "nowhere"))
    check_present(config(dataset="synthetic", root=tmp_path / "nowhere"))


# --- image folders --------------------------------------------------------------------------

COLOURS = {"cat": (200, 10, 10), "dog": (10, 200, 10), "emu": (10, 10, 200)}


def write_folder(root, counts, size=(12, 10)):
    """Solid-colour PNGs (a solid colour survives resizing exactly) in root/<class>/."""
    for name, n in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGB", size, COLOURS[name]).save(root / name / f"{i:02d}.png")


def expected_pixels(source):
    colours = torch.tensor([COLOURS[name] for name in source.classes], dtype=torch.uint8)
    return colours[source.labels][:, :, None, None].expand(-1, 3, 8, 8)


def test_flat_image_folder_holds_out_a_stratified_fifth(tmp_path):
    write_folder(tmp_path, {"cat": 10, "dog": 5, "emu": 10})
    cfg = config(dataset="imagefolder", root=tmp_path, image_size=8)
    train, test = load_split(cfg, "train"), load_split(cfg, "test")
    assert isinstance(train, ImageSet) and train.classes == ("cat", "dog", "emu")
    assert train.images.shape == (20, 3, 8, 8) and train.images.dtype == torch.uint8
    assert torch.bincount(test.labels).tolist() == [2, 1, 2]
    assert torch.equal(train.images, expected_pixels(train))
    assert torch.equal(test.images, expected_pixels(test))


def test_presplit_image_folder_labels_classes_by_name(tmp_path):
    write_folder(tmp_path / "train", {"cat": 3, "dog": 3, "emu": 3})
    write_folder(tmp_path / "val", {"cat": 1, "emu": 2})  # no dog images to test on
    cfg = config(dataset="imagefolder", root=tmp_path, image_size=8)
    train, test = load_split(cfg, "train"), load_split(cfg, "test")
    assert len(train) == 9 and train.classes == test.classes == ("cat", "dog", "emu")
    assert test.labels.tolist() == [0, 2, 2]
    assert torch.equal(test.images, expected_pixels(test))


def test_test_classes_unknown_to_training_are_refused(tmp_path):
    write_folder(tmp_path / "train", {"cat": 2, "dog": 2})
    write_folder(tmp_path / "test", {"cat": 1, "emu": 1})
    with pytest.raises(UserInputError, match="has classes the training folder lacks: emu"):
        load_split(config(dataset="imagefolder", root=tmp_path), "test")


def test_train_folder_without_a_test_folder_is_refused(tmp_path):
    write_folder(tmp_path / "train", {"cat": 2, "dog": 2})
    with pytest.raises(UserInputError, match="has a train/ folder but no test/ or val/ beside it"):
        load_split(config(dataset="imagefolder", root=tmp_path), "train")


def test_empty_test_parts_are_refused(tmp_path):
    write_folder(tmp_path / "split" / "train", {"cat": 2, "dog": 2})
    (tmp_path / "split" / "test" / "cat").mkdir(parents=True)
    with pytest.raises(UserInputError, match="split/test has no test images of the training classes"):
        load_split(config(dataset="imagefolder", root=tmp_path / "split"), "test")
    write_folder(tmp_path / "flat", {"cat": 2, "dog": 2})
    cfg = config(dataset="imagefolder", root=tmp_path / "flat")
    assert len(load_split(cfg, "train")) == 4
    with pytest.raises(UserInputError, match="flat has too few images to hold out a test part"):
        load_split(cfg, "test")


def test_in_memory_and_streamed_folders_serve_identical_batches(tmp_path):
    rng = np.random.default_rng(0)
    for k, name in enumerate(("a", "b", "c")):
        (tmp_path / name).mkdir()
        for i in range(10 + 5 * k):
            Image.fromarray(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    common = dict(dataset="imagefolder", root=tmp_path, image_size=8, cutout=2, sampling="balanced", workers=0)
    memory = search_data(config(**common, in_memory="yes"), seed=3, batch_size=6, device=CPU)
    streamed = search_data(config(**common, in_memory="no"), seed=3, batch_size=6, device=CPU)
    assert isinstance(memory.train, DeviceBatches) and isinstance(streamed.train, StreamedBatches)
    assert memory.split == streamed.split and memory.image_shape == streamed.image_shape == (3, 8, 8)
    for a, b in zip(memory.val.eval_epoch(), streamed.val.eval_epoch(), strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    ga, gb = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    for a, b in zip(memory.train.train_epoch(ga), streamed.train.train_epoch(gb), strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_folders_larger_than_the_memory_limit_are_streamed(tmp_path):
    write_folder(tmp_path, {"cat": 5, "dog": 5})
    cfg = config(dataset="imagefolder", root=tmp_path, image_size=8, memory_limit_gb=1e-7)
    assert isinstance(load_split(cfg, "train"), ImageFiles)


@pytest.mark.parametrize("layout, message", [
    ({}, "has no class sub-folders with images"),
    ({"cat": 0, "dog": 0}, "has no class sub-folders with images"),
    ({"cat": 3}, "has only one class (cat); a classifier needs at least two"),
])
def test_folders_without_two_classes_are_refused(tmp_path, layout, message):
    write_folder(tmp_path, layout)
    (tmp_path / "notes.txt").write_text("not an image")
    for check in (lambda cfg: load_split(cfg, "train"), check_present):
        with pytest.raises(UserInputError) as err:
            check(config(dataset="imagefolder", root=tmp_path))
        assert str(err.value).startswith(f"image folder {tmp_path} {message}")


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(UserInputError, match="image folder .*/nowhere does not exist"):
        load_split(config(dataset="imagefolder", root=tmp_path / "nowhere"), "train")
    with pytest.raises(UserInputError, match="image folder .*/nowhere does not exist"):
        check_present(config(dataset="imagefolder", root=tmp_path / "nowhere"))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_unreadable_images_are_named(tmp_path, damage):
    write_folder(tmp_path, {"cat": 5, "dog": 5})
    broken = tmp_path / "dog" / "01.png"
    good = broken.read_bytes()
    broken.write_bytes(b"\x00garbage" * 10 if damage == "garbage" else good[: len(good) // 2])
    with pytest.raises(UserInputError) as err:
        load_split(config(dataset="imagefolder", root=tmp_path, image_size=8), "train")
    assert str(err.value).startswith(f"cannot read image {broken}: ")


# --- splits ---------------------------------------------------------------------------------

def synthetic(**split):
    return config(dataset="synthetic", split=split,
                  synthetic={"classes": 4, "image_size": 8, "train_images": 100, "test_images": 40})


def test_search_split_by_fraction_is_seeded_and_recorded():
    a = search_data(synthetic(train_fraction=0.7), seed=1, batch_size=10, device=CPU)
    b = search_data(synthetic(train_fraction=0.7), seed=1, batch_size=10, device=CPU)
    c = search_data(synthetic(train_fraction=0.7), seed=2, batch_size=10, device=CPU)
    assert (a.split.train_images, a.split.val_images) == (70, 30)
    assert a.split == b.split and a.split.fingerprint != c.split.fingerprint
    assert a.split.to_dict() == {"seed": 1, "val_source": "train", "train_images": 70, "val_images": 30,
                                 "fingerprint": a.split.fingerprint}
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.val.images, b.val.images)
    # train and validation images are different images of the training set
    whole = load_split(synthetic(), "train").images.flatten(1)
    rows = lambda part: {tuple(r) for r in part.images.flatten(1).tolist()}
    assert not rows(a.train) & rows(a.val)
    assert len(rows(a.train) | rows(a.val)) == len({tuple(r) for r in whole.tolist()})


def test_search_split_by_sizes_and_on_the_test_set():
    sized = search_data(synthetic(train_size=50, val_size=20), seed=0, batch_size=10, device=CPU)
    assert (sized.split.train_images, sized.split.val_images) == (50, 20)
    official = search_data(synthetic(val_source="test"), seed=0, batch_size=10, device=CPU)
    assert (official.split.train_images, official.split.val_images) == (100, 40)
    assert torch.equal(official.val.images, load_split(synthetic(), "test").images)
    assert official.split.val_source == "test"


@pytest.mark.parametrize("split, message", [
    ({"train_size": 90, "val_size": 20}, "asks for 90 training and 20 validation images, but the training set has 100"),
    ({"val_source": "test", "val_size": 41}, "data.split.val_size is 41, but only 40 images are available"),
])
def test_impossible_splits_are_refused(split, message):
    with pytest.raises(UserInputError, match=message):
        search_data(synthetic(**split), seed=0, batch_size=10, device=CPU)


def test_a_split_smaller_than_one_batch_is_refused():
    with pytest.raises(UserInputError, match="fewer than one batch of 64"):
        search_data(synthetic(train_size=50), seed=0, batch_size=64, device=CPU)


def test_retrain_uses_train_and_test_with_an_optional_seeded_validation_part():
    full = retrain_data(synthetic(), seed=0, batch_size=10, device=CPU, val_fraction=0.0)
    assert full.val is None and full.train.num_images == 100 and full.test.num_images == 40
    held = retrain_data(synthetic(), seed=0, batch_size=10, device=CPU, val_fraction=0.1)
    assert (held.train.num_images, held.val.num_images) == (90, 10)
    assert held.split == retrain_data(synthetic(), seed=0, batch_size=10, device=CPU, val_fraction=0.1).split


def test_relabelled_data_changes_the_fingerprint():
    cfg = synthetic()
    a = search_data(cfg, seed=0, batch_size=10, device=CPU)
    other = config(dataset="synthetic", synthetic={"classes": 5, "image_size": 8, "train_images": 100,
                                                   "test_images": 40})
    b = search_data(other, seed=0, batch_size=10, device=CPU)
    assert (a.split.train_images, a.split.val_images) == (b.split.train_images, b.split.val_images)
    assert a.split.fingerprint != b.split.fingerprint


# --- image size -----------------------------------------------------------------------------

def test_image_size_check_names_the_factor():
    check_image_size(8, 8, 2, "a net")
    check_image_size(32, 32, 5, "a net")
    with pytest.raises(UserInputError) as err:
        check_image_size(6, 6, 2, "a 3-cell search network")
    assert str(err.value).startswith(
        "images of 6×6 pixels are too small or oddly sized for a 3-cell search network: it halves the "
        "resolution 2 times, so height and width must be multiples of 4 (at least 4)")
    with pytest.raises(UserInputError, match="multiples of 8"):
        check_image_size(4, 4, 3, "a net")


@pytest.mark.parametrize("written, read", [("in_memory: no", "no"), ("in_memory: yes", "yes"),
                                           ("in_memory: 'no'", "no"), ("in_memory: auto", "auto")])
def test_in_memory_takes_yes_and_no_as_yaml_reads_them_unquoted(written, read):
    """YAML 1.1 reads an unquoted no as false; the documented value must work as written."""
    assert DataConfig.model_validate({"dataset": "digits", **yaml.safe_load(written)}).in_memory == read
