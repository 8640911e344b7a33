"""NAS-Bench-201's evaluation network, known without building it (:mod:`.childnet` builds it)."""

from __future__ import annotations

from snas.spaces.base import EvalNetwork

BENCHMARK_NETWORK = EvalNetwork("cifar", layers=5, channels=16, image_size=32, num_classes=10)
"""NAS-Bench-201's CIFAR-10 network (``layers``: cells per stage), which its cells' figures refer to."""
