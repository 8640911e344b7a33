"""The DARTS papers' evaluation networks, and how often their stems halve the resolution.

The networks themselves are built by :mod:`.childnet`; what sizes them is known without
building one (``profile --dataset`` chooses among them, the image checks count the halvings).
"""

from __future__ import annotations

from snas.registry import Registry
from snas.spaces.base import EvalNetwork, NetworkFamily

EVAL_NETWORKS: Registry[EvalNetwork] = Registry("evaluation network", {
    "cifar10": EvalNetwork("cifar", layers=20, channels=36, image_size=32, num_classes=10),
    "imagenet": EvalNetwork("imagenet", layers=14, channels=48, image_size=224, num_classes=1000),
})
"""The DARTS papers' evaluation networks by data set: CIFAR-10's 20 cells at C = 36, the
ImageNet mobile setting's 14 cells at C = 48."""


def stem_halvings(family: NetworkFamily) -> int:
    """How often the stem halves the resolution before the cells (the ImageNet stem's three
    stride-2 convolutions, :class:`~snas.spaces.darts.childnet.ChildNetwork`)."""
    return 0 if family == "cifar" else 3
