"""Retraining a genotype from scratch: drop-path ramp, auxiliary head, resumption."""

import pytest
import torch

from snas.catalogue import CATALOGUE, resolve_genotype
from snas.config import RetrainConfig
from snas.droppath import draw_kept, drop_path
from snas.metrics import RETRAIN_METRICS
from snas.retrain import Retrain
from snas.spaces.darts.childnet import ChildCell
from snas.spaces.darts.genotype import Genotype

TINY = {
    "genotype": "DARTS_V2", "layers": 5, "init_channels": 4, "batch_size": 32, "epochs": 4, "seed": 0,
    "device": "cpu", "drop_path": 0.2, "auxiliary": True, "label_smoothing": 0.1,
    "data": {"dataset": "synthetic", "synthetic": {"classes": 4, "image_size": 8, "train_images": 128,
                                                   "test_images": 64}},
}


def retrain(**overrides):
    return Retrain(RetrainConfig.model_validate({**TINY, **overrides}))


def comparable(history):
    return [{k: v for k, v in m.items() if k != "epoch_time_s"} for m in history]


def test_drop_path_ramps_linearly_from_zero_over_the_epochs():
    run = retrain(epochs=4, drop_path=0.2)
    assert [run.drop_prob(e) for e in range(4)] == pytest.approx([0.0, 0.05, 0.1, 0.15])
    metrics = [run.run_epoch()["drop_path"] for _ in range(2)]
    assert metrics == pytest.approx([0.0, 0.05])


def test_drop_path_zeroes_whole_samples_and_rescales_the_rest():
    x = torch.ones(1000, 2, 3, 3)
    ((kept,),) = draw_kept([1], 1000, 0.25, torch.Generator().manual_seed(0))
    out = drop_path(x, kept, 0.75)
    per_sample = out.flatten(1)
    assert per_sample.unique().tolist() == pytest.approx([0.0, 1 / 0.75])
    assert torch.all(per_sample.min(1).values == per_sample.max(1).values)  # whole samples
    assert (per_sample[:, 0] == 0).float().mean().item() == pytest.approx(0.25, abs=0.04)


@pytest.mark.parametrize("op, dropped", [("skip_connect", False), ("sep_conv_3x3", True)])
def test_drop_path_spares_identity_edges(op, dropped):
    """DARTS drops every op but the identity: a cell of skip connections ignores the drop probability."""
    pairs = tuple((o, s) for s in (0, 1) for o in [op]) * 4
    genotype = Genotype(normal=pairs, normal_concat=(2, 3, 4, 5), reduce=pairs, reduce_concat=(2, 3, 4, 5))
    torch.manual_seed(0)
    cell = ChildCell(genotype, 4, 4, 4, reduction=False, reduction_prev=False).train()
    s0, s1 = torch.randn(8, 4, 6, 6), torch.randn(8, 4, 6, 6)
    assert cell.dropped_edges == (8 if dropped else 0)
    kept = cell(s0, s1)
    heavy = cell(s0, s1, *draw_kept([cell.dropped_edges], 8, 0.9, torch.Generator().manual_seed(0)), 0.1)
    assert torch.equal(kept, heavy) is not dropped


def test_metrics_follow_the_contract_and_params_exclude_the_auxiliary_head():
    run = retrain(epochs=1)
    metrics = run.run_epoch()
    assert set(metrics) == set(RETRAIN_METRICS)
    assert run.model.auxiliary is not None
    without_aux = sum(p.numel() for n, p in run.model.named_parameters() if not n.startswith("auxiliary."))
    assert run.profile.params == without_aux < sum(p.numel() for p in run.model.parameters())
    assert metrics["params_m"] == run.profile.params_m
    assert 0 <= metrics["test_acc"] <= 100 and 0 <= metrics["val_acc"] <= 100


def test_resume_equals_uninterrupted(tmp_path):
    straight = retrain()
    straight_history = [straight.run_epoch() for _ in range(4)]

    first = retrain()
    first.run_epoch()
    first.run_epoch()
    first.save(tmp_path / "checkpoint.pt")
    del first
    torch.manual_seed(123)  # the global RNG must not matter
    resumed = Retrain.restore(tmp_path / "checkpoint.pt")
    assert resumed.epoch == 2
    resumed.run_epoch()
    resumed.run_epoch()

    assert resumed.finished
    assert comparable(resumed.history) == comparable(straight_history)
    assert straight_history[-1]["drop_path"] == pytest.approx(0.15)
    mine, theirs = resumed.model.state_dict(), straight.model.state_dict()
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)


def test_imagenet_network_with_label_smoothing_trains(tmp_path):
    """The ImageNet stem halves three times: 32×32 synthetic images end as 1×1 maps after 5 cells.

    C = 8, not 4: PyTorch 2.14's CPU backward of a 1×1 stride-2 convolution on channels_last
    input with fewer than 8 channels corrupts the heap, and the first ImageNet cell reduces
    the C-channel stem output that way.
    """
    run = retrain(network="imagenet", epochs=1, label_smoothing=0.1, init_channels=8,
                  genotype=CATALOGUE["SNAS_aggressive_edge_all"].genotype.to_dict(),
                  data={**TINY["data"], "synthetic": {**TINY["data"]["synthetic"], "image_size": 32}})
    metrics = run.run_epoch()
    assert run.model.stem1 is not None
    assert metrics["train_loss"] > 0 and metrics["macs_m"] > 0


def test_validating_a_config_reads_no_genotype_file(tmp_path):
    """A file is read where the config is written (resolve_genotype); the config takes the mapping."""
    path = tmp_path / "genotype.json"
    path.write_text(CATALOGUE["DARTS_V2"].genotype.to_json())
    with pytest.raises(ValueError, match="is not a catalogue name or Genotype.* read with resolve_genotype first"):
        RetrainConfig.model_validate({"genotype": str(path)})
    config = RetrainConfig.model_validate({"genotype": resolve_genotype(str(path)).to_dict()})
    assert config.resolved_genotype == CATALOGUE["DARTS_V2"].genotype
