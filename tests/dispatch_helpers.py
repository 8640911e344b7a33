"""A dispatch mode shared by the tests that check which ATen operations a piece of code runs."""

from __future__ import annotations

from typing import Any

from torch.utils._python_dispatch import TorchDispatchMode


class Recorded(TorchDispatchMode):
    """The names of the aten operations run inside it (``relu`` for ``aten.relu.default``)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.ops.append(func.__name__.split(".")[0])
        return func(*args, **(kwargs or {}))
