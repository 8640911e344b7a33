"""Connecting to Ray: a local instance, or an existing cluster with ``--address``.

The harness shuts down only what it started: a local Ray instance it initialised, or its
driver connection to a cluster (``ray.shutdown()`` disconnects; the cluster keeps running).
It never runs ``ray stop`` and never kills processes by name.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from harness.storage import is_uri
from harness.study import Study
from snas.errors import UserInputError


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Ray for the duration of a command; reuses an already initialised Ray (tests)."""
    import ray

    started = False
    if not ray.is_initialized():
        options = {"include_dashboard": False, "logging_level": logging.WARNING}
        if address:
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise UserInputError(
                    f"cannot connect to the Ray cluster at {address!r} ({err}). Start it with `ray start --head` "
                    f"(and `ray start --address=HEAD:6379` on the other nodes); Ray ≥ 2.59 clusters started with "
                    f"RAY_AUTH_MODE=token need the same token on this machine") from None
        else:
            temp_dir = os.environ.get("SNAS_STUDY_RAY_TMPDIR")
            ray.init(**options, **({"_temp_dir": temp_dir} if temp_dir else {}))
        started = True
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def check_storage(study: Study, storage_path: str) -> None:
    """Refuse a node-local results folder when trials may run on other nodes."""
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if len(nodes) > 1 and not is_uri(storage_path) and not study.storage.shared:
        raise UserInputError(
            f"the Ray cluster has {len(nodes)} nodes, but the results folder {storage_path} is local to this "
            f"machine: trials on other nodes could not save checkpoints there. Use shared storage: an NFS path "
            f"mounted at the same place on every node (and set storage.shared: true), or an s3:// / gs:// URI "
            f"(--storage s3://bucket/studies)")
