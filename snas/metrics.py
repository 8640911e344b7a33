"""Metric names: the contract between the loops, the Tune trainables, analysis and users.

Accuracies are percentages (0-100).  MACs are multiply-accumulates (what NAS papers call
FLOPs or mult-adds) for one image; parameter counts exclude the auxiliary head (DARTS
convention).  ``*_m`` values are in millions.
"""

from collections.abc import Sequence

SMOOTHING_EPOCHS = 3
"""Epochs averaged by ``search_val_acc_avg3``."""


def trailing_mean(values: Sequence[float]) -> float:
    """``search_val_acc_avg3`` after the last of ``values`` (one per epoch): the mean of the
    last ``SMOOTHING_EPOCHS`` of them, or of all while there are fewer."""
    window = values[-SMOOTHING_EPOCHS:]
    return sum(window) / len(window)

SEARCH_METRICS: dict[str, str] = {
    "epoch": "epochs completed (1-based; equals Tune's training_iteration)",
    "train_loss": "mean cross-entropy of the sampled supernet on training batches",
    "train_acc": "accuracy of the sampled supernet on training batches (%)",
    "search_val_acc": "supernet with a sampled architecture on the held-out split (%)",
    "child_val_acc": "argmax child with shared weights, no retraining, on the held-out split (%)",
    "search_val_acc_avg3": ("mean search_val_acc of the last 3 epochs (of all before epoch 3): a steadier "
                            "objective for ASHA and for ranking than one epoch's accuracy"),
    "temperature": "Gumbel-softmax temperature at the end of the epoch",
    "arch_entropy": "mean entropy of softmax(α) per edge (nats; ln 8 = 2.08 is uniform)",
    "arch_entropy_normalized": ("arch_entropy / ln(number of ops): 0 is one op per edge, 1 is no preference "
                                "between ops (above 0.95 the derived cell is close to arbitrary)"),
    "normal_skip_connect": ("skip_connect edges in the derived normal cell (NAS-Bench-201: its one cell); "
                            "a normal cell of skips is the classic DARTS collapse"),
    "normal_param_free": "parameter-free edges (skip_connect and pooling, not none) in the derived normal cell",
    "supernet_child_gap": ("search_val_acc - child_val_acc (percentage points): how much the sampled supernet's "
                           "accuracy says about the derived child's"),
    "cost": "resource cost as used in the loss (before λ), epoch mean",
    "child_params_m": "parameters of the derived genotype at search scale (M)",
    "child_macs_m": "MACs of the derived genotype at search scale (M)",
    "eval_params_m": "parameters of the derived genotype at evaluation scale (M)",
    "eval_macs_m": "MACs of the derived genotype at evaluation scale (M)",
    "genotype": "derived genotype, DARTS repr",
    "epoch_time_s": "wall time of the epoch including evaluation (s)",
    "images_per_s": "training images per second",
    "lr": "weight learning rate used in the epoch",
    "diverged": "the loss became NaN or infinite; the run stops",
}

RETRAIN_METRICS: dict[str, str] = {
    "epoch": "epochs completed (1-based)",
    "train_loss": "mean training loss (auxiliary term included when enabled)",
    "train_acc": "training accuracy (%)",
    "val_acc": "accuracy on the validation part of the training set (%); NaN without one",
    "test_acc": "accuracy on the test split (%)",
    "params_m": "parameters, auxiliary head excluded (M)",
    "macs_m": "MACs for one image (M)",
    "epoch_time_s": "wall time of the epoch including evaluation (s)",
    "lr": "learning rate used in the epoch",
    "drop_path": "drop-path probability used in the epoch",
    "diverged": "the loss became NaN or infinite; the run stops",
}
