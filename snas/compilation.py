"""``torch.compile`` for the search and training steps: the modes, and the caches runs share.

``compile: off`` (the default) runs eagerly.  The other modes are ``torch.compile``'s own:
``default`` (Inductor), ``max-autotune`` (Inductor trying kernel variants, minutes longer to
compile) and ``reduce-overhead`` (CUDA graphs on a GPU; on the CPU the same as ``default``).

What is compiled is each network's *fixed-structure* forward, with no random draw inside it
(a ``torch.Generator`` argument is a graph break): the search supernet's cells under a soft
sample (SNAS, DARTS; :meth:`snas.spaces.darts.supernet.SuperNet.compile`), whose drop-path draws are made
before the compiled call, in the order the eager forward makes them; and a trained child
network's edge ops (:meth:`snas.spaces.darts.childnet.ChildNetwork.compile`).  A *hard* sample (GDAS, the
argmax child) stays eager: which op runs on each of the 14 edges of a cell is the sample
itself, so a compiled graph of it is specialised to one architecture and every step would
recompile (``TORCH_LOGS=recompiles`` shows one per step until Dynamo's recompile limit, 8,
sends the rest to eager anyway); running all ops to keep one graph would undo GDAS's saving.
Evaluation (``model.eval()``, no gradient) also stays eager: it is a few batches an epoch,
and a second, inference graph would double the compile time.

A bilevel method's two passes (θ with α frozen, α with θ frozen) need different gradients,
so DARTS compiles two graphs where SNAS compiles one.

Why one graph in the DARTS space and regions in NAS-Bench-201's (PyTorch's regional
compilation, a repeated submodule compiled once per distinct shape; measured with
``bench/search_step.py``, figures in ``docs/performance.md``): in the DARTS space whole cells
do not repeat (every cell of a 5-cell network has its own shape), and each node's mix of
candidate ops as a region -- 14 distinct graphs at 5 or 8 cells, the benchmark's
``snas-compiled-regional`` -- cut the cold compile at config a only from 598 to 429 s while
the step's speed-up over eager fell from 1.36× to 1.12× (the glue between regions runs
eagerly), so it paid for itself later.  NAS-Bench-201's search network repeats whole cells
(3 stages of 5 alike): its 15 cells compile as 3 graphs, which cut the cold compile at config
nb201 from 465 to 186 s for the same step time -- not to the 1/5 that was the goal, since
the one graph's Inductor already builds each distinct kernel once (75 kernel modules against
the regions' 46) -- so that space compiles its cells as regions
(:meth:`snas.spaces.nas_bench_201.supernet.SearchNetwork.compile_training`).

Compiling costs minutes on a small CPU: the first step of a 5-cell, C = 8 SNAS supernet
(``bench/search_step.py`` config a) took 742 s to compile on a busy 2-core machine with
an empty cache, and 82 s in a new process with the cache filled.  On a quiet machine the
same compile took 470 s cold before the pools became opaque to Inductor (:mod:`snas.pools`)
and 268 s after, 59 s warm both times; the compiled step there is now no faster than the
eager one.  Inductor keeps what it compiled in on-disk caches (the
FX graph cache and the AOTAutograd cache, both on by default) under ``TORCHINDUCTOR_CACHE_DIR``;
a later process compiling the same graphs (same shapes, dtype, torch version and CPU or GPU)
loads them in seconds.  :func:`share_compile_cache` points that folder somewhere runs share.

The modes are settings the configuration validates without loading torch; :func:`compiled`
imports it when something is compiled.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar, get_args

CompileMode = Literal["off", "default", "reduce-overhead", "max-autotune"]
COMPILE_MODES: tuple[str, ...] = get_args(CompileMode)

CACHE_ENV = "TORCHINDUCTOR_CACHE_DIR"
"""Inductor's cache folder: its FX graph cache, AOTAutograd cache and generated kernels."""

F = TypeVar("F", bound=Callable[..., object])


def compile_mode(value: object) -> object:
    """A ``compile`` setting as written: YAML reads an unquoted ``off`` as ``false``, which
    means ``off`` here too; anything else is left for the mode check."""
    return "off" if value is False else value


def compiled(fn: F, mode: CompileMode) -> F:
    """``fn`` compiled in ``mode`` (``fn`` itself for ``off``).

    Shapes are static (``dynamic=False``): a search trains on batches of one size, and a
    shape-generic graph would be slower for every step to save one recompile.
    """
    if mode == "off":
        return fn
    import torch

    # torch.compile's stubs return its wrapper's type; called, it is ``fn`` compiled
    return torch.compile(fn, mode=mode, dynamic=False)  # type: ignore[return-value]


def share_compile_cache(folder: Path | str) -> str:
    """Point Inductor's caches at ``folder`` unless ``TORCHINDUCTOR_CACHE_DIR`` is already set
    (the user's choice wins); returns the folder in use.

    A study's trials call this with ``<study folder>/compile_cache`` when the study's storage
    is a local path (the harness's trainables do): trials 2..N of a study then load the graphs
    trial 1 compiled instead of spending the minutes again, on every node that mounts the
    storage at the same path (cache entries are keyed by the CPU's or GPU's features, so
    mixed nodes keep separate entries; writes are atomic renames, so concurrent trials are
    safe).  With storage in the cloud (``s3://``) trials keep Inductor's node-local default
    (``/tmp/torchinductor_<user>``), shared by the trials of one node.  Must run before the
    first compile of the process.
    """
    chosen = os.environ.setdefault(CACHE_ENV, str(folder))
    Path(chosen).mkdir(parents=True, exist_ok=True)
    return chosen
