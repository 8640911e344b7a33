"""Time one search training step of our supernet against the reference design.

A step is what a search does per training batch, :meth:`snas.search.Search.train_step`:
forward and backward of θ and α and both optimiser steps (for the bilevel methods, the θ
step on a training batch plus the α step on a validation batch, in the method's order).
Searches run without the resource penalty, as the baseline does.  The baseline is
:mod:`bench.reference_supernet` -- the DARTS/SNAS reference design -- doing the SNAS step.
Before timing, both networks get the same weights and must produce the same logits and
the same α gradient.

Each variant lives in its own process, as a search of that method would, and the variants
are timed in rounds (each once per round), so drifts of a shared machine hit all alike.
Peak memory (RSS on CPU, allocated memory on CUDA) is each process's peak after building
its variant and running one step.  Prints one JSON line per (config, variant) and a summary
line with the ratios the targets are stated in, each the median over rounds of the ratio
within a round: ``snas_vs_baseline`` (target ≥ 1.3 on CPU) and ``gdas_vs_snas`` (target ≥ 3).
Config ``nb201`` times the NAS-Bench-201 search network, which has no reference design: it
skips the baseline and the equivalence check (``max_abs_diff`` is then null).

``--official CHECKOUT`` (a work tree of SNAS-Series/SNAS-Series) adds the ``official``
variant, the official code's SNAS network and step (:mod:`bench.official_supernet`), and
``<method>_vs_official`` for each method timed: the official step's time over the method's.
``--official-gdas CHECKOUT`` (a work tree of D-X-Y/AutoDL-Projects) adds ``official_gdas``,
the official GDAS network and step (:mod:`bench.official_gdas`), and
``gdas_vs_official_gdas``; that network has a multiple of 3 cells (config ``a6``), and
configs of other depths skip it.

A compiled variant (``snas-compiled``: what ``compile`` does -- the DARTS supernet's training
forward as one graph, NAS-Bench-201's cells as regions, one graph per stage; and in the DARTS
space ``snas-compiled-regional``: each cell node's mix as a region, :func:`compile_regions`)
compiles in
its first step with an empty Inductor cache of its own (cold), then once more in a new
process with that cache filled (warm).  Its ``compile_cost`` line gives both compile times
(the first step's time less a compiled step's), the paired step ratio against its eager
method (``vs_eager``) and the break-even points: the steps after which the time a compiled
step saves has paid for the compile, cold and warm.

    python bench/search_step.py --configs a b --repeats 9
    python bench/search_step.py --configs a --variants snas snas-compiled snas-compiled-regional --repeats 5
    python bench/search_step.py --configs nb201 --variants snas snas-compiled --repeats 5
    python bench/search_step.py --configs a --variants snas gdas darts --official ../SNAS-Series --repeats 11
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NoReturn, cast

import torch
import torch._dynamo
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header, seconds_of  # noqa: E402
from bench.official_gdas import load_official_gdas, missing_gdas_files, official_gdas_step  # noqa: E402
from bench.official_supernet import load_official, missing_files, official_step  # noqa: E402
from bench.reference_supernet import ReferenceSuperNet, load_into  # noqa: E402
from snas.allocator import heap_trimmer, keep_freed_memory  # noqa: E402
from snas.compilation import CACHE_ENV, COMPILE_MODES, CompileMode  # noqa: E402
from snas.config import SearchConfig  # noqa: E402
from snas.methods import METHODS  # noqa: E402
from snas.search import Search  # noqa: E402
from snas.spaces.darts.primitives import NAME as DARTS  # noqa: E402
from snas.spaces.darts.supernet import SearchCell, SourceOps, SuperNet  # noqa: E402
from snas.training import RunningMean  # noqa: E402

CONFIGS = {
    "a": {"layers": 5, "init_channels": 8, "batch_size": 32},
    "b": {"layers": 8, "init_channels": 16, "batch_size": 64},
    # config a with 6 cells: the depth nearest to 5 that the official GDAS network can have
    "a6": {"layers": 6, "init_channels": 8, "batch_size": 32},
    # NAS-Bench-201's search network (3 stages of 5 cells, C = 16) as GDAS and DARTS search it
    "nb201": {"space": "nas-bench-201", "layers": 5, "init_channels": 16, "batch_size": 64},
}


def has_reference(config: str) -> bool:
    """Whether the reference design (a DARTS-space supernet) exists for ``config``: the
    baseline variant and the equivalence check need it."""
    return CONFIGS[config].get("space", "darts") == "darts"


@dataclass(frozen=True)
class OfficialCode:
    """A variant that runs an official code's network and step, from a checkout the user names."""

    name: str
    """The variant's name; ``--<name>`` (``_`` as ``-``) names the checkout."""
    repository: str
    env: str
    """Where the spawned variant finds the checkout (set from its command-line flag)."""
    missing: Callable[[Path], list[str]]
    """The files of the repository a folder lacks."""
    compared: tuple[str, ...]
    """Our methods whose step is compared with it."""
    depth_multiple: int = 1
    """Its network's cell count is a multiple of this; other configs skip the variant."""

    @property
    def flag(self) -> str:
        return f"--{self.name.replace('_', '-')}"


OFFICIAL = "official"
OFFICIAL_GDAS = "official_gdas"
OFFICIAL_CODES = {code.name: code for code in (
    OfficialCode(OFFICIAL, "SNAS-Series/SNAS-Series", "SNAS_BENCH_OFFICIAL", missing_files, tuple(METHODS)),
    OfficialCode(OFFICIAL_GDAS, "D-X-Y/AutoDL-Projects", "SNAS_BENCH_OFFICIAL_GDAS", missing_gdas_files, ("gdas",),
                 depth_multiple=3),
)}
"""The official codes a step can be timed against, by variant name."""

COMPILED = "-compiled"
"""Suffix of a variant name that runs its method with ``compile`` set (``snas-compiled``)."""
REGIONAL = "-compiled-regional"
"""Suffix of a variant name that compiles the DARTS supernet's node mixes as regions instead
of ``compile``'s one graph (``snas-compiled-regional``, :func:`compile_regions`): PyTorch's
regional compilation, measured and not adopted there (``docs/performance.md``)."""

REGION_GRAPH_LIMIT = 64
"""Graphs the DARTS node regions may hold: one per distinct node shape, 14 at configs a and b.  Dynamo's
own limit (``recompile_limit``, 8 per code object) would run the rest eagerly, silently."""


def is_compiled(variant: str) -> bool:
    """Whether ``variant`` compiles something (and so has a compile cost to report)."""
    return variant.endswith((COMPILED, REGIONAL))


def variant_method(variant: str) -> str:
    """The search method a variant runs (``baseline`` and ``official`` run SNAS's step on
    the reference net and the official code's, ``official_gdas`` GDAS's on its official net)."""
    if variant == OFFICIAL_GDAS:
        return "gdas"
    return "snas" if variant in ("baseline", OFFICIAL) else variant.removesuffix(REGIONAL).removesuffix(COMPILED)


def runs_at(variant: str, config: str) -> bool:
    """Whether ``variant`` exists at ``config``: the reference and official networks are
    DARTS-space supernets, the official GDAS one only at a multiple of 3 cells; a regional
    variant only in a space :data:`REGIONS` cuts."""
    if variant == "baseline" or variant in OFFICIAL_CODES:
        multiple = OFFICIAL_CODES[variant].depth_multiple if variant in OFFICIAL_CODES else 1
        return has_reference(config) and CONFIGS[config]["layers"] % multiple == 0
    if variant.endswith(REGIONAL):
        return CONFIGS[config].get("space", DARTS) in REGIONS
    return True


def search_config(config: str, method: str, device: str, channels_last: bool, bf16: bool,
                  compile: CompileMode = "off") -> SearchConfig:
    return SearchConfig(
        method=method, epochs=10, device=device, channels_last=channels_last, bf16=bf16, drop_path=0.0,
        compile=compile,
        resource={"method": "none"},
        data={"dataset": "synthetic", "synthetic": {"image_size": 32, "train_images": 256, "test_images": 64},
              "split": {"train_fraction": 0.5}},
        **CONFIGS[config],
    )


def check_equivalence(config: str) -> float:
    """Max |Δ| between reference and our logits and α gradients for shared weights.

    Computed in float64, so that the comparison checks the math rather than float32
    rounding, which grows with depth (the 8-cell config differs by ~1e-3 in float32)."""
    torch.manual_seed(0)
    spec = CONFIGS[config]
    reference = ReferenceSuperNet(spec["init_channels"], 10, spec["layers"]).double()
    ours = SuperNet(spec["init_channels"], 10, spec["layers"]).double()
    load_into(reference, ours)
    x = torch.randn(8, 3, 32, 32, dtype=torch.float64)
    y = torch.randint(0, 10, (8,))
    generator = torch.Generator().manual_seed(0)
    alphas = [torch.randn(14, 8, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    samples = [METHODS["snas"].sample(a, 1.0, generator) for a in alphas]
    ref_logits = reference(x, samples[0].weights, samples[1].weights)
    ref_grads = torch.autograd.grad(F.cross_entropy(ref_logits, y), alphas, retain_graph=True)
    our_logits = ours(x, [samples[0]], [samples[1]])
    our_grads = torch.autograd.grad(F.cross_entropy(our_logits, y), alphas)
    diffs = [float((ref_logits - our_logits).detach().abs().max())]
    diffs += [float((a - b).abs().max()) for a, b in zip(ref_grads, our_grads)]
    return max(diffs)


def _peak_memory_mb(device: torch.device) -> float:
    """Peak allocated CUDA memory, or this process's peak RSS (``VmHWM``).

    Not ``ru_maxrss``: Linux keeps it across ``execve``, so a spawned child would report
    its parent's peak (every variant showed the timing process's figure)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def is_ours(variant: str) -> bool:
    """Whether ``variant`` runs this project's code (not the baseline or an official code's):
    channels_last, and, in its own process, the heap settings of every ``snas-study`` process."""
    return variant != "baseline" and variant not in OFFICIAL_CODES


def make_step(variant: str, config: str, device: str, channels_last: bool,
              bf16: bool, compile: CompileMode = "off") -> tuple[Callable[[], None], Search]:
    """A closure running one training step of ``variant`` on a fixed batch; a ``-compiled``
    (or ``-compiled-regional``) variant compiles in mode ``compile`` (during its first step)."""
    mode = compile if variant.endswith(COMPILED) else "off"
    ours = is_ours(variant)
    search = Search(search_config(config, variant_method(variant), device, channels_last and ours, bf16, mode))
    x, y = next(search.data.train.train_epoch(search.generators["data"]))
    xv, yv = next(search.data.val.train_epoch(search.generators["val"]))
    x = x.contiguous(memory_format=search.memory_format)
    xv = xv.contiguous(memory_format=search.memory_format)
    stats = {name: RunningMean() for name in ("loss", "acc", "cost")}
    if variant == "baseline":
        spec = CONFIGS[config]
        net = ReferenceSuperNet(spec["init_channels"], search.data.num_classes, spec["layers"]).to(search.device)
        weight_opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
        arch_opt = torch.optim.SGD(search.alphas.parameters(), lr=3e-4)
        x = x.contiguous()

        def step() -> None:
            weight_opt.zero_grad()
            arch_opt.zero_grad()
            draw = METHODS["snas"].sample
            normal = draw(search.alphas.normal, 1.0, search.generators["arch"]).weights
            reduce = draw(search.alphas.reduce, 1.0, search.generators["arch"]).weights
            F.cross_entropy(net(x, normal, reduce), y).backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            weight_opt.step()
            arch_opt.step()
    elif variant == OFFICIAL:
        spec = CONFIGS[config]
        net = load_official(Path(os.environ[OFFICIAL_CODES[OFFICIAL].env]), spec["layers"], spec["init_channels"],
                            search.data.num_classes).to(search.device)
        step = official_step(net, x.contiguous(), y)
    elif variant == OFFICIAL_GDAS:
        spec = CONFIGS[config]
        net = load_official_gdas(Path(os.environ[OFFICIAL_CODES[OFFICIAL_GDAS].env]), spec["layers"],
                                 spec["init_channels"], search.data.num_classes).to(search.device)
        step = official_gdas_step(net, (x.contiguous(), y), (xv.contiguous(), yv))
    else:
        if variant.endswith(REGIONAL):
            compile_regions(search.config.space, search.model, compile)

        def step() -> None:
            search.train_step((x, y), (xv, yv), 1.0, stats)
    return step, search


def compile_node_regions(net: nn.Module, mode: CompileMode) -> None:
    """Compile each DARTS cell node's mix of candidate ops (``SourceOps._mix_all``, the soft
    path) as a region, for the rest of ``net`` (a :class:`SuperNet`) to run eagerly between them.

    Whole cells do not repeat in a DARTS network (every cell of 5 has its own shape), nodes
    do.  Dynamo keys graphs by the method's code object, not by instance (parameters are
    graph inputs), so nodes of one shape share a graph: 14 at configs a and b -- per stage of
    one channel count, one for a cell's input nodes (4 edges each) and one for each inner
    node (3, 2, 1 edges), and per reduction one for its strided input nodes (4 + 5 + 5).
    They all count against one recompile limit, raised while a region runs; going past it
    is an error instead of a silent fall back to eager code.
    """
    limit = torch._dynamo.config.patch(recompile_limit=REGION_GRAPH_LIMIT, fail_on_recompile_limit_hit=True)
    for cell in cast(SuperNet, net).cells:
        for node in cast(Iterable[SourceOps], cast(SearchCell, cell).sources):
            graph = torch.compile(node._mix_all, mode=mode, dynamic=False)

            def mix(*args: Any, graph: Callable[..., Any] = graph) -> Any:
                with limit:
                    return graph(*args)

            node._mix_all = mix  # type: ignore[method-assign]


REGIONS: dict[str, Callable[[nn.Module, CompileMode], None]] = {
    DARTS: compile_node_regions,
}
"""How ``snas-compiled-regional`` cuts each space's supernet into regions, by space name.  Not
NAS-Bench-201's: there ``compile`` itself compiles each cell as a region (its cells repeat),
so ``snas-compiled`` is that space's regional variant."""


def compile_regions(space: str, net: nn.Module, mode: CompileMode) -> None:
    """Compile ``net``, a supernet of ``space``, as repeated regions (:data:`REGIONS`)."""
    REGIONS[space](net, mode)


def _variant_worker(variant: str, config: str, device: str, channels_last: bool, bf16: bool,
                    compile: CompileMode, conn: Connection) -> None:
    """Serve one variant in its own process: build it, time its first step (a compiled
    variant compiles there), report that and the peak memory; then, per request, run an
    untimed step and a timed one and report the latter.  A variant of ours keeps the memory
    its steps free, as a search process does (:mod:`snas.allocator`, applied by the
    ``harness`` package); the baseline and the official codes run with glibc's defaults."""
    if is_ours(variant):
        keep_freed_memory()
    step, search = make_step(variant, config, device, channels_last, bf16, compile)
    sync = search.device.type == "cuda"
    release_free_memory = heap_trimmer()
    first_step_s = seconds_of(step, sync)
    conn.send((first_step_s, _peak_memory_mb(search.device)))
    release_free_memory()
    while conn.recv() == "step":
        step()
        conn.send(seconds_of(step, sync))
        release_free_memory()


class VariantProcess:
    """A variant living in its own spawned process, as a search of that method would.

    Side by side in one process, a variant's time depended on the heap the others left
    behind: in one run at config a that timed both set-ups in alternating rounds, steps
    sharing a process took 1.10× (``gdas``) and 1.04× (baseline) as long as in their own
    process, and 0.95× (``snas``, ``darts``), which moved ``gdas_vs_snas`` from 3.46 to 3.12.

    While it waits, a process hands its free heap back to the system: the four variants
    of config b peak at 9.7 + 7.5 + 1.9 + 6.7 GB and did not fit in this machine's 24 GB
    together.  Each timed step therefore follows an untimed one, as every step of a
    search follows the one before it.
    """

    def __init__(self, variant: str, config: str, device: str, channels_last: bool, bf16: bool,
                 compile: CompileMode = "off"):
        self.variant = variant
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_variant_worker,
                                    args=(variant, config, device, channels_last, bf16, compile, child), daemon=True)
        self._process.start()
        child.close()  # else the parent holds a write end, and a child that dies never gives EOF
        first_step_s, peak_memory_mb = self._request(None)
        self.first_step_s: float = first_step_s
        """Seconds of the first step: building the graphs and, compiled, compiling them."""
        self.peak_memory_mb: float = peak_memory_mb

    def _request(self, message: str | None) -> Any:
        try:
            if message is not None:
                self._conn.send(message)
            return self._conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self._process.join(timeout=5)
            raise SystemExit(f"the {self.variant} process died (exit code {self._process.exitcode}; "
                             f"-9 is usually the kernel's out-of-memory killer)") from None

    def step(self) -> float:
        """Seconds of one training step (after an untimed one)."""
        return self._request("step")

    def close(self) -> None:
        try:
            self._conn.send("stop")
        except OSError:  # already gone
            pass
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._conn.close()


def interleaved_times(steps: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Time every variant once per round, ``repeats`` rounds: slow drifts of a shared
    machine then hit all variants alike instead of whichever happened to run last."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            times[name].append(step())
    return times


def paired_ratio(slower: list[float], faster: list[float]) -> float:
    """Median over rounds of ``slower / faster`` timed in the same round.

    This machine's speed drifts by 30% within minutes; a ratio of times taken seconds apart
    cancels most of that, a ratio of two medians over the whole run does not."""
    return statistics.median(s / f for s, f in zip(slower, faster))


def compile_cost(variant: str, eager: list[float], compiled: list[float], cold_first_s: float,
                 warm_first_s: float) -> dict[str, Any]:
    """What compiling ``variant`` costs and when it pays: the compile time with an empty
    cache (cold) and with the cache a previous process filled (warm), each the first step's
    time less a compiled step's, and the steps after which the time saved per step has paid
    for it (``None`` where a compiled step saves nothing)."""
    step_s, saved_s = statistics.median(compiled), statistics.median(eager) - statistics.median(compiled)
    cold_s, warm_s = cold_first_s - step_s, warm_first_s - step_s
    return {"variant": variant, "cold_compile_s": cold_s, "warm_compile_s": warm_s,
            "step_s": step_s, "eager_step_s": statistics.median(eager),
            "vs_eager": paired_ratio(eager, compiled), "saved_per_step_s": saved_s,
            "break_even_steps_cold": cold_s / saved_s if saved_s > 0 else None,
            "break_even_steps_warm": warm_s / saved_s if saved_s > 0 else None}


def usage_error(message: str) -> NoReturn:
    """One line on stderr, exit code 2, as for any bad argument (named after the script run)."""
    print(f"{Path(sys.argv[0]).stem}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["a", "b"], choices=sorted(CONFIGS))
    parser.add_argument("--variants", nargs="+", default=["baseline", "snas", "gdas", "darts"],
                        help="baseline, a method (snas, gdas, darts), or a method with -compiled (snas-compiled)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--compile", default="default", choices=[m for m in COMPILE_MODES if m != "off"],
                        help="the torch.compile mode of the -compiled variants (default: default)")
    parser.add_argument("--cache-dir", type=Path,
                        help=f"Inductor's cache folder ({CACHE_ENV}) of every compiled variant; default: a fresh "
                             "one per compiled variant, so its first compile is cold and a second process's warm")
    for name, code in OFFICIAL_CODES.items():
        parser.add_argument(code.flag, type=Path, metavar="CHECKOUT", dest=name,
                            help=f"a checkout of {code.repository}: adds the {name} variant and the speed-up of "
                                 f"{', '.join(code.compared)} over it")
    args = parser.parse_args()
    for name, code in OFFICIAL_CODES.items():
        checkout = getattr(args, name)
        if checkout is not None:
            missing = code.missing(checkout)
            if missing:
                usage_error(f"{checkout} is not a checkout of {code.repository} (no {missing[0]})")
            os.environ[code.env] = str(checkout.resolve())  # the spawned variant reads it
            if name not in args.variants:
                args.variants = [name, *args.variants]
        elif name in args.variants:
            usage_error(f"the {name} variant needs {code.flag} CHECKOUT")
    for variant in args.variants:
        if variant != "baseline" and variant not in OFFICIAL_CODES and variant_method(variant) not in METHODS:
            parser.error(f"unknown variant {variant!r}")
    caches = {v: args.cache_dir or Path(tempfile.mkdtemp(prefix=f"snas-bench-inductor-{v}-"))
              for v in args.variants if is_compiled(v)}
    for config in args.configs:
        variants = [v for v in args.variants if runs_at(v, config)]
        max_diff = check_equivalence(config) if has_reference(config) else None
        if max_diff is not None and max_diff > 1e-9:
            raise SystemExit(f"config {config}: reference and ours differ by {max_diff:.2e}; not timing")
        options = (config, args.device, args.channels_last, args.bf16, args.compile)
        processes: dict[str, VariantProcess] = {}
        try:
            for variant in variants:
                if variant in caches:  # the spawned process inherits it
                    os.environ[CACHE_ENV] = str(caches[variant])
                processes[variant] = VariantProcess(variant, *options)
            times = interleaved_times({v: p.step for v, p in processes.items()}, args.repeats)
        finally:
            for process in processes.values():
                process.close()
        warm_first_s = {}
        for variant in (v for v in variants if is_compiled(v)):
            os.environ[CACHE_ENV] = str(caches[variant])
            warm = VariantProcess(variant, *options)  # a new process: only the on-disk caches are warm
            warm_first_s[variant] = warm.first_step_s
            warm.close()
        results = {}
        for variant in variants:
            median = statistics.median(times[variant])
            batch = CONFIGS[config]["batch_size"]
            r = {"median_s": median, "times_s": times[variant], "ms_per_step": 1000 * median,
                 "images_per_s": batch / median, "first_step_s": processes[variant].first_step_s,
                 "peak_memory_mb": processes[variant].peak_memory_mb}
            results[variant] = r
            emit({**header("search_step"), "config": config, "variant": variant, "device": args.device,
                  "channels_last": args.channels_last, "bf16": args.bf16,
                  "compile": args.compile if is_compiled(variant) else "off", **CONFIGS[config], **r})
        summary = {**header("search_step"), "config": config, "summary": True, "max_abs_diff": max_diff}
        if "baseline" in results and "snas" in results:
            summary["snas_vs_baseline"] = paired_ratio(times["baseline"], times["snas"])
        if "gdas" in results and "snas" in results:
            summary["gdas_vs_snas"] = paired_ratio(times["snas"], times["gdas"])
        for name, code in OFFICIAL_CODES.items():
            for method in (m for m in code.compared if name in results and m in results):
                summary[f"{method}_vs_{name}"] = paired_ratio(times[name], times[method])
        for variant, warm_s in warm_first_s.items():
            eager = variant_method(variant)
            if eager in results:
                summary[f"{variant}_vs_eager"] = paired_ratio(times[eager], times[variant])
                emit({**header("search_step"), "config": config, "compile_cost": True, "compile": args.compile,
                      **compile_cost(variant, times[eager], times[variant], processes[variant].first_step_s,
                                     warm_s)})
        emit(summary)


if __name__ == "__main__":
    main()
