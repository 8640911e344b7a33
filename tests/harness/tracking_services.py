"""The tracking services the tracking tests read back: a real MLflow server on a free local
port, and the files of W&B's offline runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

SERVER_START_S = 120
"""How long the server may take to answer (database migrations and imports: about 25 s on
a busy 2-core machine)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_mlflow_server(folder: Path) -> tuple[subprocess.Popen, str]:
    """``mlflow server`` on a sqlite database and a local artifact folder in ``folder``, in a
    session of its own (its uvicorn worker goes with it at :func:`stop_server`); returns the
    process and the URI, once ``/health`` answers."""
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no Huey job workers
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=(folder / "server.log").open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {(folder / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(uri + "/health", timeout=1):
                return server, uri
        except OSError:
            time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"mlflow server did not answer in {SERVER_START_S} s")


def stop_server(server: subprocess.Popen) -> None:
    """End the server's process group (the one :func:`start_mlflow_server` started)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        pass


_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def wandb_records(path: Path) -> list[Any]:
    """The records of a W&B run file (``run-<id>.wandb``): a LevelDB-style log (a 7-byte
    ``:W&B`` header, then 32 KiB blocks of records, each a 7-byte header -- CRC, length, part
    -- and a piece of a protobuf ``Record``).  wandb 0.31 ships no Python reader of its own."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    records, pending, pos = [], b"", 7
    while pos + 7 <= len(data):
        left = _BLOCK - pos % _BLOCK
        _, length, part = struct.unpack("<IHB", data[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if left < 7 or (length == 0 and part == 0):  # a block's padding
            pos += left
            continue
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        pending = chunk if part in (_FULL, _FIRST) else pending + chunk
        if part in (_FULL, _LAST):
            records.append(wandb_internal_pb2.Record.FromString(pending))
    return records


def wandb_run_folder(run_dir: Path) -> dict[str, Any]:
    """One offline run folder (one session of a run): its id, display name, group, job type,
    config, history rows (with W&B's ``_step``), exit code and the files in it."""
    run: dict[str, Any] = {"history": [], "files": {}}
    for record in wandb_records(next(run_dir.glob("run-*.wandb"))):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.update(id=record.run.run_id, name=record.run.display_name, group=record.run.run_group,
                       job_type=record.run.job_type,
                       config={item.key: json.loads(item.value_json) for item in record.run.config.update
                               if item.key != "_wandb"})
        elif kind == "history":
            run["history"].append({"/".join(item.nested_key) or item.key: json.loads(item.value_json)
                                   for item in record.history.item})
        elif kind == "exit":
            run["exit_code"] = record.exit.exit_code
    run["files"] = {str(p.relative_to(run_dir / "files")): p for p in (run_dir / "files").rglob("*") if p.is_file()}
    return run


def wandb_written() -> None:
    """Wait until W&B has written every finished run's file: its service writes the file after
    ``run.finish()`` returns (a test reading at once saw a run's records missing); its teardown
    waits for that, as it does at the driver's exit."""
    import wandb

    wandb.teardown()


def wandb_runs(folder: Path) -> dict[str, dict[str, Any]]:
    """Every offline run under ``folder/wandb``, by display name (:func:`wandb_run_folder`)."""
    wandb_written()
    runs = [wandb_run_folder(run_dir) for run_dir in sorted((folder / "wandb").glob("offline-run-*"))]
    return {run["name"]: run for run in runs}


def wandb_sessions(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Every offline run under ``folder/wandb`` by run id, with one :func:`wandb_run_folder` per
    session that logged to it (a resumed run has a folder per session), oldest first."""
    wandb_written()
    sessions: dict[str, list[dict[str, Any]]] = {}
    for run_dir in sorted((folder / "wandb").glob("offline-run-*")):  # offline-run-<yyyymmdd_hhmmss>-<id>
        run = wandb_run_folder(run_dir)
        sessions.setdefault(run["id"], []).append(run)
    return sessions
