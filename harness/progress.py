"""Progress bars and one-line epoch summaries for the commands that train without Ray."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from tqdm import tqdm

_SUMMARY_KEYS = (
    ("train_loss", "loss {:.3f}"), ("train_acc", "train {:.1f}%"), ("search_val_acc", "search val {:.1f}%"),
    ("child_val_acc", "child val {:.1f}%"), ("val_acc", "val {:.1f}%"), ("test_acc", "test {:.1f}%"),
    ("temperature", "τ {:.3f}"), ("epoch_time_s", "{:.1f}s"),
)


class EpochProgress:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        if enabled:
            # tqdm's default lock also holds a multiprocessing lock, whose semaphore a
            # --workers rank leaving by os._exit never releases (the resource tracker then
            # warns of a leak); the bars of one process need a thread lock only.
            tqdm.set_lock(threading.RLock())

    @contextlib.contextmanager
    def epoch(self, epoch: int, epochs: int, steps: int) -> Iterator[Callable[[int, int], None] | None]:
        if not self.enabled:
            yield None
            return
        bar = tqdm(total=steps, desc=f"epoch {epoch}/{epochs}", leave=False, unit="step", dynamic_ncols=True)

        def on_step(done: int, total: int) -> None:
            bar.update(done - bar.n)

        try:
            yield on_step
        finally:
            bar.close()

    @staticmethod
    def summary(metrics: dict[str, Any]) -> str:
        parts = [f"epoch {metrics['epoch']}"]
        parts += [fmt.format(metrics[key]) for key, fmt in _SUMMARY_KEYS if key in metrics]
        return "  ".join(parts)
