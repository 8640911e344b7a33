"""Batched augmentation: exact pixel semantics of crop, flip, normalisation and cutout."""

import pytest
import torch
import torch.nn.functional as F

from snas.data.augment import Augmentation, augment_batch, cutout, normalize, random_crop, random_flip

MEAN = torch.tensor([0.3, 0.5, 0.7])
STD = torch.tensor([0.2, 0.25, 0.3])


def images(n, c=3, h=8, w=8, seed=0):
    """Random uint8 content: any two windows or mirrors of it differ."""
    return torch.randint(1, 256, (n, c, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def twin(generator):
    """A generator that will draw exactly what ``generator`` draws next."""
    copy = torch.Generator()
    copy.set_state(generator.get_state())
    return copy


@pytest.mark.parametrize("padding", [1, 2, 4])
def test_crop_is_a_window_of_the_zero_padded_image_at_the_drawn_offset(padding):
    x = images(64, h=9, w=7)
    g = torch.Generator().manual_seed(3)
    draws = twin(g)
    out = random_crop(x, padding, g)
    dy = torch.randint(0, 2 * padding + 1, (64,), generator=draws)
    dx = torch.randint(0, 2 * padding + 1, (64,), generator=draws)
    padded = F.pad(x, (padding,) * 4)
    assert out.shape == x.shape and out.dtype == torch.uint8
    for i in range(64):
        assert torch.equal(out[i], padded[i, :, dy[i] : dy[i] + 9, dx[i] : dx[i] + 7])


def test_crop_stays_within_the_padding_and_reaches_every_offset():
    padding, n = 2, 5000
    x = torch.full((n, 1, 6, 6), 255, dtype=torch.uint8)
    out = random_crop(x, padding, torch.Generator().manual_seed(0))[:, 0]
    # an all-white image: the black border left by the crop says where the window was
    kept_rows, kept_cols = (out == 255).any(2), (out == 255).any(1)

    def shift(kept):  # window offset minus padding, from the first white line and the count
        return (6 - kept.sum(1)) - 2 * kept.float().argmax(1)

    top, left = shift(kept_rows), shift(kept_cols)
    # the white part is always one rectangle of at least (6 - padding)² pixels
    assert ((out == 255).sum((1, 2)) == kept_rows.sum(1) * kept_cols.sum(1)).all()
    assert (kept_rows.sum(1) >= 6 - padding).all() and (kept_cols.sum(1) >= 6 - padding).all()
    # all (2p+1)² offsets occur, each about equally often
    counts = torch.bincount(((top + padding) * (2 * padding + 1) + left + padding), minlength=25)
    assert len(counts) == 25
    assert counts.min() > 0.7 * n / 25 and counts.max() < 1.3 * n / 25


def test_zero_padding_is_identity():
    x = images(4)
    assert random_crop(x, 0, torch.Generator()) is x


def test_flip_is_an_exact_mirror_about_half_the_time():
    x = images(4000, h=4, w=5)
    g = torch.Generator().manual_seed(1)
    draws = twin(g)
    out = random_flip(x, g)
    flipped = torch.rand(4000, generator=draws) < 0.5
    assert torch.equal(out[flipped], x[flipped].flip(-1))
    assert torch.equal(out[~flipped], x[~flipped])
    assert torch.equal(out[flipped][:, :, :, 0], x[flipped][:, :, :, 4])
    assert 0.46 < flipped.float().mean() < 0.54


def test_normalize_maps_uint8_through_mean_and_std_per_channel():
    x = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 1, 1, 3).expand(1, 3, 1, 3)
    out = normalize(x, MEAN, STD)
    expected = (torch.tensor([0.0, 0.2, 1.0])[None, :] - MEAN[:, None]) / STD[:, None]
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[0, :, 0], expected)


@pytest.mark.parametrize("length", [3, 4])
def test_cutout_zeroes_exactly_the_clipped_square_around_the_drawn_centre(length):
    x = normalize(images(200, h=10, w=10), MEAN, STD)
    assert (x != 0).all()
    g = torch.Generator().manual_seed(5)
    draws = twin(g)
    out = cutout(x, length, g)
    cy = torch.randint(0, 10, (200,), generator=draws)
    cx = torch.randint(0, 10, (200,), generator=draws)
    half = length // 2
    for i in range(200):
        y0, y1 = max(0, cy[i] - half), min(10, cy[i] - half + length)
        x0, x1 = max(0, cx[i] - half), min(10, cx[i] - half + length)
        hole = torch.zeros(10, 10, dtype=torch.bool)
        hole[y0:y1, x0:x1] = True
        assert (out[i][:, hole] == 0).all()
        assert torch.equal(out[i][:, ~hole], x[i][:, ~hole])
    inner = (cy >= half) & (cy - half + length <= 10) & (cx >= half) & (cx - half + length <= 10)
    assert inner.any()
    assert ((out[inner] == 0).sum((1, 2, 3)) == 3 * length * length).all()


def test_cutout_happens_after_normalisation():
    """The hole is 0 in normalised units (the mean colour), not a black uint8 pixel."""
    x = torch.full((16, 3, 8, 8), 200, dtype=torch.uint8)
    policy = Augmentation(crop_padding=0, flip=False, cutout=4)
    out = augment_batch(x, policy, MEAN, STD, torch.Generator().manual_seed(0))
    black = normalize(torch.zeros(1, 3, 1, 1, dtype=torch.uint8), MEAN, STD).flatten()
    assert (black != 0).all()
    values = set(out.unique().tolist())
    assert values == {0.0} | set(normalize(x[:1, :, :1, :1], MEAN, STD).flatten().tolist())
    assert ((out == 0).sum((1, 2, 3)) >= 3 * 2 * 2).all()


def test_augment_batch_is_crop_then_flip_then_normalise_then_cutout():
    x = images(32, h=12, w=12)
    policy = Augmentation(crop_padding=3, flip=True, cutout=5)
    g = torch.Generator().manual_seed(9)
    steps = twin(g)
    out = augment_batch(x, policy, MEAN, STD, g)
    expected = cutout(normalize(random_flip(random_crop(x, 3, steps), steps), MEAN, STD), 5, steps)
    assert out.dtype == torch.float32 and out.shape == (32, 3, 12, 12)
    assert torch.equal(out, expected)
    assert torch.equal(g.get_state(), steps.get_state())


def test_no_augmentation_is_plain_normalisation():
    x = images(8)
    out = augment_batch(x, Augmentation(), MEAN, STD, torch.Generator())
    assert torch.equal(out, normalize(x, MEAN, STD))


def test_same_seed_same_batch_other_seed_other_batch():
    x = images(64)
    policy = Augmentation(crop_padding=2, flip=True, cutout=3)
    first = augment_batch(x, policy, MEAN, STD, torch.Generator().manual_seed(7))
    again = augment_batch(x, policy, MEAN, STD, torch.Generator().manual_seed(7))
    other = augment_batch(x, policy, MEAN, STD, torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_augmentation_leaves_the_global_random_state_alone():
    before = torch.random.get_rng_state()
    augment_batch(images(8), Augmentation(2, True, 3), MEAN, STD, torch.Generator().manual_seed(0))
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_equal_cpu_batches():
    x = images(64, h=32, w=32)
    policy = Augmentation(crop_padding=4, flip=True, cutout=8)
    cpu = augment_batch(x, policy, MEAN, STD, torch.Generator().manual_seed(0))
    gpu = augment_batch(x.cuda(), policy, MEAN.cuda(), STD.cuda(), torch.Generator().manual_seed(0))
    torch.testing.assert_close(gpu.cpu(), cpu)
