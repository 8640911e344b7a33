"""Image folders (snas.data.folders): classes and input read from names alone, and every
unreadable image of every split named once, before anything is served."""

import numpy as np
import pytest
import torch
from PIL import Image

from snas.data.config import DataConfig
from snas.data.folders import labelled_images, read_folder
from snas.data.loading import load_split, search_data
from snas.data.sets import DATASETS, InputSpec, check_present, stratified_holdout
from snas.errors import UserInputError

NOT_DECODED = b"never decoded: the class count reads names only"


def config(root, **settings):
    return DataConfig.model_validate({"dataset": "imagefolder", "root": root, "image_size": 16, **settings})


def write_images(root, counts):
    """Solid-colour 12×10 PNGs in root/<class>/, named 00.png, 01.png, ..."""
    for k, (name, n) in enumerate(counts.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGB", (12, 10), (60 * k, 100, 10 * i)).save(root / name / f"{i:02d}.png")


def held_out(root, name):
    """The paths of class ``name`` the loader holds out of a flat folder, by its own rule."""
    folder = read_folder(root)
    paths, labels = labelled_images(root, folder.classes)
    _, held = stratified_holdout(torch.tensor(labels), 0.2)
    return [paths[i] for i in held.tolist() if paths[i].parent.name == name]


def test_classes_are_the_sub_folders_holding_images_and_nothing_is_decoded(tmp_path):
    for name in ("cat/0.png", "cat/1.jpeg", "dog/deep/er/x.JPG", ".cache/hidden.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(NOT_DECODED)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no images here")
    (tmp_path / "cat" / "thumbs.db").write_bytes(b"junk")
    (tmp_path / "junk.txt").write_text("junk")
    folder = read_folder(tmp_path)
    assert folder.classes == ("cat", "dog") and folder.test is None
    assert folder.every_image() == [tmp_path / "cat/0.png", tmp_path / "cat/1.jpeg", tmp_path / "dog/deep/er/x.JPG"]
    assert DATASETS["imagefolder"].inputs(config(tmp_path, image_size=24)) == InputSpec(3, 24, 24, 2)


def test_a_presplit_folder_counts_its_training_classes(tmp_path):
    for name in ("train/a/0.png", "train/b/0.png", "train/c/0.png", "val/a/0.png", "val/a/1.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(NOT_DECODED)
    folder = read_folder(tmp_path)
    assert folder.classes == ("a", "b", "c") and folder.test == tmp_path / "val"
    assert [p.relative_to(tmp_path).as_posix() for p in folder.every_image()] == [
        "train/a/0.png", "train/b/0.png", "train/c/0.png", "val/a/0.png", "val/a/1.png"]
    assert DATASETS["imagefolder"].inputs(config(tmp_path)).classes == 3


def test_the_loader_serves_what_the_inputs_say(tmp_path):
    write_images(tmp_path, {"cat": 5, "dog": 5, "emu": 5})
    (tmp_path / "empty_class").mkdir()
    inputs = DATASETS["imagefolder"].inputs(config(tmp_path))
    train = load_split(config(tmp_path), "train")
    assert inputs == InputSpec(3, 16, 16, 3)
    assert train.images.shape[1:] == (inputs.channels, inputs.height, inputs.width)
    assert len(train.classes) == inputs.classes


def test_an_empty_image_in_the_held_out_part_is_named_before_anything_is_served(tmp_path):
    """The issue's case: a search validating on part of train never loads the held-out test
    part, yet hears of it, from the check before Ray and from the loader."""
    write_images(tmp_path, {"cat": 10, "dog": 10})
    empty = held_out(tmp_path, "dog")[0]
    empty.write_bytes(b"")
    message = f"cannot read image {empty}: empty file; remove or replace it"
    with pytest.raises(UserInputError) as before_ray:
        check_present(config(tmp_path))
    with pytest.raises(UserInputError) as search:
        search_data(config(tmp_path), seed=0, batch_size=4, device=torch.device("cpu"))
    with pytest.raises(UserInputError) as streamed:
        load_split(config(tmp_path, in_memory="no"), "train")
    assert str(before_ray.value) == str(search.value) == str(streamed.value) == message


def test_every_unreadable_image_of_every_split_is_named_once_in_one_message(tmp_path):
    write_images(tmp_path, {"cat": 10, "dog": 10})
    held = held_out(tmp_path, "dog")[0]
    kept = next(p for p in sorted((tmp_path / "dog").iterdir()) if p not in held_out(tmp_path, "dog"))
    empty = tmp_path / "cat" / "03.png"
    held.write_bytes(b"\x00garbage" * 10)  # not decoded by a train load: its header is read
    kept.write_bytes(b"")  # empty and so also not an image: named once, as empty
    empty.write_bytes(b"")
    named = sorted([(empty, "empty file"), (kept, "empty file"), (held, "not an image PIL can identify")])
    expected = (f"cannot read 3 images of image folder {tmp_path}: "
                + ", ".join(f"{path.relative_to(tmp_path)} ({why})" for path, why in named)
                + "; remove or replace them")
    for split in ("train", "test"):
        with pytest.raises(UserInputError) as err:
            load_split(config(tmp_path), split)
        assert str(err.value) == expected
    with pytest.raises(UserInputError) as before_ray:  # sizes only: the garbage file waits for the loader
        check_present(config(tmp_path))
    assert str(before_ray.value) == (f"cannot read 2 images of image folder {tmp_path}: "
                                     f"{empty.relative_to(tmp_path)} (empty file), "
                                     f"{kept.relative_to(tmp_path)} (empty file); remove or replace them")


def test_a_truncated_image_is_named_by_the_split_that_decodes_it(tmp_path):
    """Its header reads well, so only decoding its pixels finds it."""
    write_images(tmp_path, {"cat": 5, "dog": 5})
    truncated = next(p for p in sorted((tmp_path / "dog").iterdir()) if p not in held_out(tmp_path, "dog"))
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(truncated)
    whole = truncated.read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UserInputError) as err:
        load_split(config(tmp_path), "train")
    assert str(err.value) == f"cannot read image {truncated}: image file is truncated; remove or replace it"
    assert len(load_split(config(tmp_path), "test")) == 2


def test_both_folders_of_a_presplit_folder_are_checked(tmp_path):
    write_images(tmp_path / "train", {"cat": 3, "dog": 3})
    write_images(tmp_path / "val", {"cat": 2, "dog": 2})
    (tmp_path / "train" / "cat" / "00.png").write_bytes(b"")
    (tmp_path / "val" / "dog" / "01.png").write_bytes(b"")
    expected = (f"cannot read 2 images of image folder {tmp_path}: train/cat/00.png (empty file), "
                f"val/dog/01.png (empty file); remove or replace them")
    for check in (check_present, lambda cfg: load_split(cfg, "train"), lambda cfg: load_split(cfg, "test")):
        with pytest.raises(UserInputError) as err:
            check(config(tmp_path))
        assert str(err.value) == expected


def test_a_folder_of_many_unreadable_images_names_twenty(tmp_path):
    write_images(tmp_path, {"cat": 12, "dog": 12})
    for path in sorted((tmp_path / "dog").iterdir())[:11] + sorted((tmp_path / "cat").iterdir())[:12]:
        path.write_bytes(b"")
    with pytest.raises(UserInputError) as err:
        check_present(config(tmp_path))
    named = [f"cat/{i:02d}.png (empty file)" for i in range(12)] + [f"dog/{i:02d}.png (empty file)" for i in range(8)]
    assert str(err.value) == (f"cannot read 23 images of image folder {tmp_path}: {', '.join(named)} and 3 more; "
                              f"remove or replace them")


def test_a_train_folder_without_a_test_folder_is_refused_before_ray(tmp_path):
    write_images(tmp_path / "train", {"cat": 2, "dog": 2})
    with pytest.raises(UserInputError, match="has a train/ folder but no test/ or val/ beside it"):
        check_present(config(tmp_path))
