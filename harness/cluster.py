"""Connecting to Ray: a local instance, or an existing cluster with ``--address``.

The harness shuts down only what it started: a local Ray instance it initialised, or its
driver connection to a cluster (``ray.shutdown()`` disconnects; the cluster keeps running).
It never runs ``ray stop`` and never kills processes by name.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.storage import is_uri
from harness.study import Study
from snas.errors import UserInputError


@contextlib.contextmanager
def ray_session(address: str | None, *, state_api: bool = False) -> Iterator[None]:
    """Ray for the duration of a command; reuses an already initialised Ray (tests).

    Without ``address`` it starts a new local instance, never one it happens to find (a
    ``ray start`` instance on this machine): the checks of :func:`check_resources` and
    :func:`check_storage` refuse on a local instance what they only warn about on a
    cluster.  ``RAY_ADDRESS`` (``ray job submit`` sets it) is the commands' default
    ``--address`` (:func:`add_address_argument`).

    ``state_api`` starts a local instance with its dashboard, which serves Ray's state API:
    a data-parallel study needs it.  Tune kills a stopped trial's actor (ASHA, or the last
    epoch reached) and its Train controller with it, before the controller can remove its
    workers' placement group; Ray Train's ``PlacementGroupCleaner`` then removes it, but
    only if it can ask the state API whether the controller is dead.  Without it the dead
    trial's placement group keeps its CPUs and the next trial's workers wait for ever
    (:func:`local_ray_options` says how the cleaner finds this instance's state API)."""
    import ray

    started = False
    if not ray.is_initialized():
        if address:
            check_reachable(address)
            try:
                ray.init(address=address, include_dashboard=state_api, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise UserInputError(
                    f"cannot connect to the Ray cluster at {address!r} ({err}). Start it with `ray start --head` "
                    f"(and `ray start --address=HEAD:6379` on the other nodes); Ray ≥ 2.59 clusters started with "
                    f"RAY_AUTH_MODE=token need the same token on this machine") from None
        else:
            temp_dir = os.environ.get("SNAS_STUDY_RAY_TMPDIR")
            check_free_space(temp_dir or os.environ.get("RAY_TMPDIR") or tempfile.gettempdir(), "Ray's session folder",
                             "or point SNAS_STUDY_RAY_TMPDIR at a folder on another disk")
            _start_local_ray(state_api, temp_dir)
        started = True
    try:
        yield
    finally:
        if started:
            ray.shutdown()


_CONNECT_TIMEOUT_S = 5.0
_CLIENT_PORT = 10001
"""Ray Client's port when a ``ray://HOST`` address names none."""


def check_reachable(address: str) -> None:
    """Refuse, within seconds, an ``--address HOST:PORT`` (or ``ray://HOST[:PORT]``) where
    nothing accepts a connection: Ray itself retries such an address for minutes before
    giving up.  ``auto`` and ``local`` are left to Ray, which answers those at once."""
    target = address.removeprefix("ray://")
    if target in ("auto", "local") or "://" in target:
        return
    host, _, port_text = target.rpartition(":")
    if not host:  # ray://HOST without a port
        host, port_text = target, str(_CLIENT_PORT) if address.startswith("ray://") else ""
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UserInputError(f"--address {address!r}: give auto, HOST:PORT (the head node's GCS port, 6379 by "
                             f"default) or ray://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)), timeout=_CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        reason = "no answer within 5 s" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise UserInputError(f"--address {address}: nothing answers there ({reason}); start the cluster with "
                             f"`ray start --head` on that machine, or check the address and port") from None


API_SERVER_ENV = "RAY_API_SERVER_ADDRESS"
"""Where Ray's state API clients (``ray.util.state``, Train's placement-group cleaner) look
first for the API server, before guessing from the local Ray processes."""


_PORT_TRIES = 3
"""Dashboard ports tried: one chosen free can be taken by another process before Ray binds it."""


TOKEN_NOTICE_LOGGER = "ray._private.authentication.authentication_token_setup"
"""The logger of Ray's notice, at every start of a new local instance since 2.59, that the
instance uses token authentication (Ray's default; ``RAY_AUTH_MODE=disabled`` opts out).
It changes nothing a user does, so a local start keeps it off the console.  Setting
``RAY_AUTH_MODE=token`` instead would not do: Ray creates the missing token only on its
default path, and its settings are read when it is imported."""


NO_PREEMPTION_WATCHER_ENV = "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER"
"""Set to 0 in a local instance: Ray Train's preemption watcher, an actor each data-parallel
trial starts to notice a cloud node being reclaimed, has nothing to watch on one machine, and
its start printed an ERROR line of Ray's core worker about the actor's own constructor
arguments on the study's console at every trial (ray-project/ray#53727)."""
QUIET_WORKERS_HOOK = "harness.worker_process.quiet_trial_process"
"""Run by every worker process of a local instance as it starts, before a trial restores."""


def _start_local_ray(state_api: bool, temp_dir: str | None) -> None:
    import ray

    notice = logging.getLogger(TOKEN_NOTICE_LOGGER)
    level = notice.level
    notice.setLevel(logging.ERROR)
    try:
        _init_local_ray(ray, state_api, temp_dir)
    finally:
        notice.setLevel(level)


def _init_local_ray(ray: Any, state_api: bool, temp_dir: str | None) -> None:
    for attempt in range(1, _PORT_TRIES + 1):
        try:
            ray.init(address="local", logging_level=logging.WARNING, **local_ray_options(state_api, temp_dir))
            return
        except ValueError as err:  # Ray's refusal of an occupied dashboard port
            ray.shutdown()
            if not (state_api and "already occupied" in str(err)) or attempt == _PORT_TRIES:
                raise UserInputError(f"cannot start a local Ray instance: {err}") from None


MIN_FREE_GIB = 1.0
"""Free space a study needs on the disk of Ray's session folder and of its results folder:
Ray's logs and spilled objects, and every trial's checkpoints (a few MB each at the
quickstart's scale)."""


def check_free_space(path: str, role: str, remedy: str) -> None:
    """Refuse to start when the disk holding ``path`` (or its nearest existing parent) has
    less than :data:`MIN_FREE_GIB` free.

    This replaces Ray's own guard on a local instance (:func:`local_ray_options` turns it
    off): Ray measures a *fraction* of the disk, so on a large shared disk it stops creating
    objects at 95 % with gigabytes left and logs that every 10 s onto the study's console,
    while a small disk can run out long before 95 %."""
    existing = Path(path).expanduser().absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free_gib = shutil.disk_usage(existing).free / 2**30
    if free_gib < MIN_FREE_GIB:
        raise UserInputError(f"only {free_gib:.2f} GiB free on the disk of {path} ({role}); a study needs at least "
                             f"{MIN_FREE_GIB:g} GiB there: free some space, {remedy}")


def add_address_argument(parser: argparse.ArgumentParser) -> None:
    """``--address`` of the commands that run trials; ``RAY_ADDRESS`` is its default."""
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS") or None,
                        help="connect to a running Ray cluster (auto or HOST:PORT; default: RAY_ADDRESS when set, "
                             "as under `ray job submit`, else a new local Ray instance)")


RAY_DISK_GUARD = "local_fs_capacity_threshold"
"""Ray's setting for the fraction of a disk past which it refuses to create objects (0.95 by
default); 1.0 leaves the guard to :func:`check_free_space`."""


def local_ray_options(state_api: bool, temp_dir: str | None = None) -> dict[str, Any]:
    """``ray.init`` options of a local instance (Ray in ``temp_dir``, when given).

    With ``state_api``, the dashboard listens on a free port chosen here and every worker
    of the instance is told that port (``RAY_API_SERVER_ADDRESS`` in the job's runtime
    environment).  Without it, a state API client in a worker -- Train's placement-group
    cleaner -- guesses the instance from the Ray processes it finds on the machine, and
    beside a second local instance (another study, another user, a test on another xdist
    worker) it fails with "Found multiple active Ray instances"; the cleaner's thread
    ends on that error, and a stopped trial's placement group is never removed."""
    runtime_env: dict[str, Any] = {"worker_process_setup_hook": QUIET_WORKERS_HOOK,
                                   "env_vars": {NO_PREEMPTION_WATCHER_ENV: "0"}}
    options: dict[str, Any] = {"include_dashboard": state_api, "_system_config": {RAY_DISK_GUARD: 1.0},
                               **({"_temp_dir": temp_dir} if temp_dir else {})}
    if state_api:
        port = _free_port()
        options.update(dashboard_host="127.0.0.1", dashboard_port=port)
        runtime_env["env_vars"][API_SERVER_ENV] = f"http://127.0.0.1:{port}"
    return {**options, "runtime_env": runtime_env}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_storage(study: Study, storage_path: str) -> None:
    """Refuse a node-local results folder when trials may run on other nodes, and a local
    one on a disk too full for a study (:func:`check_free_space`)."""
    import ray

    if not is_uri(storage_path):
        check_free_space(storage_path, "the study's results folder",
                         "or keep studies on another disk (--storage)")
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if len(nodes) > 1 and not is_uri(storage_path) and not study.storage.shared:
        raise UserInputError(
            f"the Ray cluster has {len(nodes)} nodes, but the results folder {storage_path} is local to this "
            f"machine: trials on other nodes could not save checkpoints there. Use shared storage: an NFS path "
            f"mounted at the same place on every node (and set storage.shared: true), or an s3:// / gs:// URI "
            f"(--storage s3://bucket/studies)")


def check_resources(study: Study, address: str | None) -> None:
    """Refuse (local Ray) or warn about (a cluster, which may autoscale) a request that the
    cluster cannot hold: a trial no node has room for, or a data-parallel trial's worker
    group more than all nodes together have.  Tune would otherwise leave every trial
    pending forever."""
    import ray

    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    problem = _trial_too_large(study, nodes) or _worker_group_too_large(study, nodes)
    if problem is None:
        return
    message, local_hint = problem
    if address:
        warnings.warn(f"{message}; trials stay pending until the cluster grows", stacklevel=2)
        return
    raise UserInputError(f"{message}. {local_hint}")


def _trial_too_large(study: Study, nodes: list[dict[str, float]]) -> tuple[str, str] | None:
    """(what is wrong, what to do on this machine) when no node can hold one trial (or one
    worker of it)."""
    wanted = {"CPU": study.resources.cpu, "GPU": study.resources.gpu}
    if any(all(node.get(k, 0.0) >= v for k, v in wanted.items() if v > 0) for node in nodes):
        return None
    largest = {k: max((node.get(k, 0.0) for node in nodes), default=0.0) for k in wanted}
    return (f"each trial asks for {study.resources.cpu:g} CPU and {study.resources.gpu:g} GPU "
            f"(resources.cpu, resources.gpu), but no node of this Ray cluster has that much "
            f"(the largest: {largest['CPU']:g} CPU, {largest['GPU']:g} GPU)",
            f"On this machine try --set resources.cpu={max(1, int(largest['CPU']))} "
            f"--set resources.gpu={largest['GPU']:g}, or run on a cluster with --address")


def _worker_group_too_large(study: Study, nodes: list[dict[str, float]]) -> tuple[str, str] | None:
    """(what is wrong, what to do) when a data-parallel trial's workers, which must all run
    at once (on any nodes), need more than the whole cluster has."""
    r = study.resources
    if r.workers == 1:
        return None
    total = {k: sum(node.get(k, 0.0) for node in nodes) for k in ("CPU", "GPU")}
    wanted = {"CPU": r.workers * r.cpu, "GPU": r.workers * r.gpu}
    if all(total[k] >= v for k, v in wanted.items() if v > 0):
        return None
    return (f"each trial runs on {r.workers} workers of {r.cpu:g} CPU and {r.gpu:g} GPU (resources.workers, "
            f"resources.cpu, resources.gpu): {wanted['CPU']:g} CPU and {wanted['GPU']:g} GPU, but this Ray "
            f"cluster has {total['CPU']:g} CPU and {total['GPU']:g} GPU",
            "Lower resources.workers or resources.cpu, or run on a cluster with --address")
