"""Dask: the same experiment on a Dask cluster gives the same figures as on this machine.

Two clusters: a LocalCluster inside the test process, and a real `dask scheduler`
and `dask worker` started as separate processes on 127.0.0.1 (the way a user
runs one), reached by address through the command line's --scheduler.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from typing import Iterator

import pytest

import sandbox
from sandbox import executors
from sandbox.cli import main

from .conftest import ROOT

try:
    import distributed
except ImportError:  # the test extra installs it: in CI this is a failure, not a skip
    if os.environ.get("CI"):
        raise
    pytest.skip("the dask extra is not installed", allow_module_level=True)

MM1 = """
name: mm1
workload: {entry: s, rate_rps: 60, duration_s: 20, warmup_s: 2}
nodes: {s: {kind: service, queue_limit: null, service_time: {dist: exponential, mean_ms: 10}}}
"""


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[str]:
    """Two single-threaded workers in this process: the cheapest real Dask scheduler."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None, protocol="tcp", host="127.0.0.1") as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def scheduler_process() -> Iterator[str]:
    """`dask scheduler` and one `dask worker`, separate processes, started from the project's venv."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # both must import sandbox
    common = dict(cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scheduler = subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--no-dashboard"], **common)
    worker = subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--host", "127.0.0.1",
                               "--nthreads", "1", "--nworkers", "1", "--no-nanny", "--no-dashboard"], **common)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with distributed.Client(address, timeout="5s") as client:
                    client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline or scheduler.poll() is not None:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
        for proc in (worker, scheduler):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_replicate_on_a_local_cluster_equals_this_process(local_cluster: str) -> None:
    s = sandbox.loads(MM1)
    here = sandbox.replicate(s, n=4, workers=1)
    there = sandbox.replicate(s, n=4, scheduler=local_cluster)
    assert there == here and there.to_dict() == here.to_dict()


def test_a_sweep_through_a_client_executor_equals_the_process_pool(local_cluster: str) -> None:
    s = sandbox.loads(MM1)
    axes = ["nodes.s.workers=1:2", "workload.rate_rps=40,80"]
    pool = sandbox.sweep(s, axes, n=2, workers=2)
    with distributed.Client(local_cluster) as client:
        on_dask = sandbox.sweep(s, axes, n=2, executor=client.get_executor())
    assert on_dask == pool and on_dask.to_dict() == pool.to_dict()


def test_cli_on_a_separate_scheduler_prints_exactly_the_local_json(scheduler_process: str, write_yaml) -> None:
    path = str(write_yaml(MM1))
    code_local, local = run_cli("compare", path, "--set", "nodes.s.workers=2", "-n", "3", "--workers", "1", "--json")
    code_dask, remote = run_cli("compare", path, "--set", "nodes.s.workers=2", "-n", "3",
                                "--scheduler", scheduler_process, "--json")
    assert code_local == code_dask == 0
    assert remote == local                       # wall times are not part of the JSON
    assert json.loads(remote)["deltas"]["latency_ms.p99"]["diff"]["mean"] < 0


def test_an_unreachable_scheduler_exits_1_with_a_message(write_yaml, capsys, monkeypatch) -> None:
    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT_S", 1.0)
    code, text = run_cli("replicate", str(write_yaml(MM1)), "-n", "2", "--scheduler", f"tcp://127.0.0.1:{free_port()}")
    err = capsys.readouterr().err
    assert code == 1 and text == ""
    assert err.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:") and "Traceback" not in err


def test_without_dask_the_scheduler_option_says_what_to_install(write_yaml, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)   # import distributed now fails
    code, _ = run_cli("replicate", str(write_yaml(MM1)), "-n", "2", "--scheduler", "tcp://127.0.0.1:8786")
    assert code == 1 and "pip install 'sandbox[dask]'" in capsys.readouterr().err
