"""Executors: where the runs of an experiment happen.

Experiments hand their runs to a :class:`concurrent.futures.Executor`, so the
same call runs here, on a local process pool, or on a Dask cluster:

- ``workers=1``: :class:`InProcessExecutor`, in this process, one run after
  another (no pool to start);
- ``workers=N`` (default: every core): a :class:`~concurrent.futures.ProcessPoolExecutor`
  whose processes come from a *forkserver* that has imported the sandbox once
  (safe in a threaded parent such as a Dask client or a web app, and cheap per
  process). Workers never run the parent's main script: multiprocessing would
  otherwise prepare each one by re-running ``sys.modules["__main__"]`` (under
  Streamlit, the page; after an AppTest, the app), so the pool starts its
  processes with ``__main__`` hidden. The tasks (``run_task`` and plain data)
  live in importable modules, so nothing a worker needs is lost;
- ``scheduler="tcp://HOST:8786"``: a Dask distributed cluster through
  ``Client.get_executor()`` (the optional ``dask`` extra). The scheduler and
  its workers must be able to import ``sandbox``.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import sys
import threading
import types
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from .errors import ScenarioError, SimulationError

__all__ = ["executor_for", "process_pool", "InProcessExecutor", "DASK_CONNECT_TIMEOUT_S"]

DASK_CONNECT_TIMEOUT_S = 10.0   # how long to try reaching a Dask scheduler


class InProcessExecutor(Executor):
    """Runs each task at once, here: for one worker, with no pool to start."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future, as a pool would
            fut.set_exception(exc)
        return fut


_MAIN_LOCK = threading.Lock()


@contextmanager
def _main_hidden() -> Iterator[None]:
    """``__main__`` as a bare module while a worker process starts, so its preparation
    data names no main script to re-run (see the module docstring)."""
    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class _ForkServerProcess(multiprocessing.context.ForkServerProcess):
    def start(self) -> None:
        with _main_hidden():
            super().start()


class _SpawnProcess(multiprocessing.context.SpawnProcess):
    def start(self) -> None:
        with _main_hidden():
            super().start()


class _ForkServerContext(multiprocessing.context.ForkServerContext):
    Process = _ForkServerProcess


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnProcess


def _pool_context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one: safe in a threaded parent (Dask, a web app), cheap per worker.

    The forkserver forks each worker from a single-threaded server process that has
    imported the sandbox (never from the threaded parent, which is what makes plain
    fork unsafe); spawn, elsewhere, starts a fresh interpreter per worker.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx: multiprocessing.context.BaseContext = _ForkServerContext()
        multiprocessing.set_forkserver_preload(["sandbox.experiments", "sandbox.engine"])
        return ctx
    return _SpawnContext()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` processes that have imported the sandbox before their first task."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context())


@contextmanager
def executor_for(workers: int | None = None, scheduler: str | None = None) -> Iterator[Executor]:
    """The executor to run experiments on, closed on exit.

    ``scheduler`` (``tcp://HOST:8786``) connects to a Dask distributed cluster
    (the ``dask`` extra); otherwise ``workers`` processes on this machine
    (default: every core), or this process alone when ``workers`` is 1.

    >>> with executor_for(workers=1) as ex:
    ...     ex.submit(pow, 2, 10).result()
    1024
    """
    if workers is not None and workers < 1:
        raise ScenarioError("workers", [("", f"must be at least 1, got {workers}")])
    if scheduler is not None:
        with _dask_executor(scheduler) as ex:
            yield ex
        return
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        yield InProcessExecutor()
        return
    pool = process_pool(workers)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _dask_executor(address: str) -> Iterator[Executor]:
    try:
        from distributed import Client
    except ImportError:
        raise SimulationError("a Dask scheduler needs Dask: pip install 'sandbox[dask]' "
                              "(or pip install 'dask[distributed]')") from None
    try:
        client = Client(address, timeout=f"{DASK_CONNECT_TIMEOUT_S}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SimulationError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
