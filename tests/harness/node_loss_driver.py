"""Run by test_node_loss.py in its own process: a 3-node Ray cluster on this machine
(a head without CPUs and two 1-CPU workers), a study launched with `snas-study run
--address`, and the node running its trial removed mid-trial.  Prints a JSON summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ray.cluster_utils import Cluster


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def rows(trial_dir: Path) -> list[dict]:
    path = trial_dir / "result.json"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def main(study_path: str, folder: str, ray_dir: str) -> None:
    # Ray's Cluster writes the head's address to <default temp dir>/ray/ray_current_cluster
    # whatever temp_dir the head has, and fails where that folder does not exist (a fresh
    # machine whose Ray sessions all named their own temp_dir): keep it in ray_dir too.
    os.environ["RAY_TMPDIR"] = ray_dir
    Path(ray_dir, "ray").mkdir(exist_ok=True)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "temp_dir": ray_dir,
                                                            "include_dashboard": False})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    cli = [sys.executable, "-m", "harness.cli", "run", study_path, "--quiet", "--address", cluster.address]
    summary: dict = {}
    try:
        refused = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
        summary["refused_code"] = refused.returncode
        summary["refused_message"] = refused.stderr
        driver = subprocess.Popen([*cli, "--set", "storage.shared=true"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        trial_dir = None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            trials = sorted(Path(folder).glob("trial_*"))
            if trials and len(rows(trials[0])) >= 2 and list(trials[0].glob("checkpoint_*")):
                trial_dir = trials[0]
                break
            time.sleep(0.5)
        assert trial_dir is not None, "the trial never checkpointed"
        worker_pid = rows(trial_dir)[-1]["pid"]
        raylet = parent_pid(worker_pid)
        node = next(n for n in workers if n.all_processes["raylet"][0].process.pid == raylet)
        summary["epoch_at_removal"] = rows(trial_dir)[-1]["epoch"]
        cluster.remove_node(node)
        output = driver.communicate(timeout=400)[0]
        summary["driver_code"] = driver.returncode
        summary["driver_output"] = output[-3000:]
        summary["epochs"] = [r["epoch"] for r in rows(trial_dir)]
        summary["pids"] = sorted({r["pid"] for r in rows(trial_dir)})
    finally:
        cluster.shutdown()
    print(json.dumps(summary))


if __name__ == "__main__":
    main(*sys.argv[1:])
