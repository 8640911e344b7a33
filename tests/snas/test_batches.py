"""Serving splits as batches: order, class balancing, determinism, in-memory vs streamed."""

import pytest
import torch
from PIL import Image

from snas.data.augment import Augmentation, normalize
from snas.data.batches import DeviceBatches, StreamedBatches, epoch_order
from snas.data.sets import ImageFiles, ImageSet
from snas.errors import UserInputError

CPU = torch.device("cpu")
MEAN, STD = torch.tensor([0.5, 0.5, 0.5]), torch.tensor([0.25, 0.25, 0.25])
POLICY = Augmentation(crop_padding=2, flip=True, cutout=3)


def labelled_images(counts, size=8):
    """Each image is a constant grey level 10·label + 1, so a batch shows which label it carries."""
    labels = torch.cat([torch.full((n,), k, dtype=torch.int64) for k, n in enumerate(counts)])
    images = (labels * 10 + 1).to(torch.uint8)[:, None, None, None].expand(-1, 3, size, size).contiguous()
    return ImageSet(images, labels, tuple(f"c{k}" for k in range(len(counts))))


def device_batches(data, batch_size=16, policy=POLICY, sampling="uniform"):
    return DeviceBatches(data, batch_size, CPU, MEAN, STD, policy, sampling)


def test_uniform_order_is_a_permutation():
    labels = torch.tensor([0] * 50 + [1] * 7)
    order = epoch_order(labels, "uniform", torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(57))


def test_balanced_order_draws_every_class_about_equally_often():
    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    g = torch.Generator().manual_seed(0)
    drawn = torch.cat([epoch_order(labels, "balanced", g) for _ in range(30)])
    assert ((drawn >= 0) & (drawn < 1000)).all()
    freq = torch.bincount(labels[drawn], minlength=3).double() / len(drawn)
    assert torch.allclose(freq, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.015), freq
    # within a class every image is equally likely: the 10 rare images each get ~1/30 of all draws
    rare = torch.bincount(drawn[drawn >= 990] - 990, minlength=10).double() / len(drawn)
    assert torch.allclose(rare, torch.full((10,), 1 / 30, dtype=torch.float64), atol=0.005), rare


def test_balanced_order_is_seeded():
    labels = torch.tensor([0] * 30 + [1] * 3)
    a = epoch_order(labels, "balanced", torch.Generator().manual_seed(4))
    b = epoch_order(labels, "balanced", torch.Generator().manual_seed(4))
    c = epoch_order(labels, "balanced", torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_train_epoch_shapes_dtypes_and_pairs_images_with_their_labels():
    data = labelled_images([20, 20, 10])
    batches = device_batches(data)
    epoch = list(batches.train_epoch(torch.Generator().manual_seed(0)))
    assert batches.train_steps() == len(epoch) == 3  # 50 // 16, the partial batch dropped
    seen = torch.cat([y for _, y in epoch])
    assert len(set(seen.tolist())) > 1
    for x, y in epoch:
        assert x.shape == (16, 3, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
        # the centre pixel survives a 2-pixel crop of an 8-pixel image and a flip
        centre = normalize((y * 10 + 1).to(torch.uint8)[:, None, None, None].expand(-1, 3, 1, 1), MEAN, STD)
        survived = x[:, :, 4, 4] != 0  # unless cutout hit it
        assert torch.equal(x[:, :, 4:5, 4:5][survived[:, 0]], centre[survived[:, 0]])


def test_uniform_epoch_serves_every_image_once():
    data = labelled_images([16, 16, 16])
    batches = device_batches(data, policy=Augmentation())
    seen = torch.cat([y for _, y in batches.train_epoch(torch.Generator().manual_seed(0))])
    assert torch.bincount(seen).tolist() == [16, 16, 16]


def test_balanced_batches_even_out_rare_classes():
    data = labelled_images([400, 40, 40])
    batches = device_batches(data, batch_size=32, sampling="balanced")
    g = torch.Generator().manual_seed(1)
    seen = torch.cat([y for _ in range(10) for _, y in batches.train_epoch(g)])
    freq = torch.bincount(seen, minlength=3).double() / len(seen)
    assert torch.allclose(freq, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.03), freq


def test_eval_epoch_is_in_order_unaugmented_and_complete():
    data = labelled_images([10, 7])
    batches = device_batches(data)
    epoch = list(batches.eval_epoch())
    assert [len(y) for _, y in epoch] == [16, 1]
    assert torch.equal(torch.cat([y for _, y in epoch]), data.labels)
    assert torch.equal(torch.cat([x for x, _ in epoch]), normalize(data.images, MEAN, STD))


def test_epochs_are_reproducible_from_the_generator_state():
    """What a checkpoint relies on: epoch 2 after a restore equals epoch 2 without one."""
    data = ImageSet(torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8), torch.arange(40) % 4, tuple("abcd"))
    batches = device_batches(data, batch_size=8)
    g = torch.Generator().manual_seed(0)
    first = list(batches.train_epoch(g))
    saved = g.get_state()
    second = list(batches.train_epoch(g))
    restored = torch.Generator()
    restored.set_state(saved)
    again = list(batches.train_epoch(restored))
    assert all(torch.equal(a, b) and torch.equal(la, lb) for (a, la), (b, lb) in zip(second, again))
    assert not torch.equal(first[0][0], second[0][0])


def test_iteration_leaves_the_global_random_state_alone(tmp_path):
    data = labelled_images([8, 8])
    files = write_files(tmp_path, data)
    before = torch.random.get_rng_state()
    for batches in (device_batches(data, 4), StreamedBatches(files, 4, CPU, MEAN, STD, POLICY, workers=0)):
        list(batches.train_epoch(torch.Generator().manual_seed(0)))
        list(batches.eval_epoch())
    assert torch.equal(torch.random.get_rng_state(), before)


def write_files(root, data):
    """``data`` as PNG files (their size, so decoding gives the same pixels back)."""
    paths = []
    for i, (image, label) in enumerate(zip(data.images, data.labels.tolist())):
        path = root / data.classes[label] / f"{i:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(path)
        paths.append(path)
    return ImageFiles(tuple(paths), data.labels, data.classes, data.images.shape[-1])


@pytest.mark.parametrize("workers", [0, 2])
def test_streamed_batches_equal_in_memory_batches(tmp_path, workers):
    data = ImageSet(torch.randint(0, 256, (21, 3, 8, 8), dtype=torch.uint8), torch.arange(21) % 3, tuple("abc"))
    files = write_files(tmp_path, data)
    memory = device_batches(data, batch_size=5, sampling="balanced")
    streamed = StreamedBatches(files, 5, CPU, MEAN, STD, POLICY, "balanced", workers=workers)
    assert streamed.train_steps() == memory.train_steps() == 4
    for a, b in zip(memory.eval_epoch(), streamed.eval_epoch(), strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    ga, gb = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    for a, b in zip(memory.train_epoch(ga), streamed.train_epoch(gb), strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("workers", [0, 2])
def test_streamed_unreadable_image_is_named_in_one_line(tmp_path, workers):
    files = write_files(tmp_path, labelled_images([4, 4]))
    broken = files.paths[5]
    broken.write_bytes(b"this is not a png")
    streamed = StreamedBatches(files, 4, CPU, MEAN, STD, POLICY, workers=workers)
    with pytest.raises(UserInputError) as err:
        list(streamed.eval_epoch())
    message = str(err.value)
    assert message.startswith(f"cannot read image {broken}:")
    assert "Traceback" not in message and "\n" not in message
