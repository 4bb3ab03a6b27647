"""regexp.system.pools: processes that run work beside the training (started at once, deaf to
Ctrl-C); wait() returns once every task and its callback are done, an error reaches its
callback, a broken pool says so; thread_map keeps order; the cores are the affinity mask."""

import os
import signal
import time
from concurrent.futures import BrokenExecutor

import pytest

from regexp.system import pools
from regexp.system.pools import ProcessPool, call, thread_map


@pytest.fixture(scope="module")
def pool():
    with ProcessPool(1) as pool:
        yield pool


def test_its_processes_start_at_once_and_ignore_interrupts(pool):
    """Started with the pool, not at the first task; Ctrl-C is the owner's to handle."""
    pids = {pool.executor.submit(os.getpid).result() for _ in range(4)}
    assert len(pids) == 1 and os.getpid() not in pids
    handlers = pool.executor.submit(signal.getsignal, signal.SIGINT).result()
    assert handlers == signal.SIG_IGN


def test_wait_returns_after_every_callback(pool):
    """metrics.json is rewritten by the callback: the owner must not end the sweep before."""
    done = []

    def slow_callback(err, i):
        time.sleep(0.1)
        done.append((i, err))

    for i in range(3):
        pool.submit(abs, -i, done=lambda err, i=i: slow_callback(err, i))
    pool.submit(int, "not a number", done=lambda err: done.append((-1, err)))
    pool.wait()
    assert sorted(i for i, _ in done) == [-1, 0, 1, 2]
    assert [err for i, err in done if i >= 0] == [None] * 3
    assert isinstance(dict(done)[-1], ValueError)  # a task's error reaches its callback


def test_a_broken_pool_refuses_tasks():
    with ProcessPool(1) as pool:
        pool.executor.submit(os._exit, 1)
        time.sleep(0.5)
        with pytest.raises(BrokenExecutor):
            for _ in range(20):
                pool.submit(abs, 1, done=lambda err: None)
                time.sleep(0.1)


def test_thread_map_keeps_the_order_with_threads_or_without():
    assert thread_map(lambda x: x * x, range(20)) == [x * x for x in range(20)]
    assert thread_map(str, [3, 1, 2]) == ["3", "1", "2"]


def test_cores_are_the_affinity_mask_or_the_cpu_count_without_one(monkeypatch):
    assert pools.cpu_count() == len(os.sched_getaffinity(0))

    def no_affinity(pid):
        raise OSError("not supported here")

    monkeypatch.setattr(os, "sched_getaffinity", no_affinity)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert pools.cpu_count() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert pools.cpu_count() == 1


def test_a_figure_process_never_imports_torch_and_the_pool_module_imports_nothing_heavy():
    """A spawned process imports the module of each function it unpickles or is named: the
    figures' draw_plots must not pull torch in (seconds a process, before the first figure);
    the launcher loads this module at start-up."""
    import pickle
    import subprocess
    import sys

    child = (
        "import pickle, sys; f = pickle.loads(sys.stdin.buffer.read()); "
        "f('regexp.figures.draw:draw_plots', []); "
        "print(f.__module__, 'matplotlib' in sys.modules, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", child], input=pickle.dumps(call),
                          capture_output=True)  # fmt: skip
    want = ["regexp.system.pools", "True", "False"]
    assert done.stdout.decode().split() == want, done.stderr.decode()
    imports = (
        "import regexp.system.pools, sys; "
        "print(sorted({'matplotlib', 'pandas', 'torch'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", imports], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def _in_a_fresh_process(code: str) -> list[str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


BESIDE = """
import functools, os, sys, threading
from regexp.system import pools
pools.cpu_count = lambda: 2
me = os.getpid()

def child_only_dies():
    if os.getpid() != me:
        os._exit(3)
    return "here"

def fails():
    raise ValueError("in the copy " + str(os.getpid() != me))

def fails_unpicklably_in_the_copy():
    if os.getpid() != me:
        raise ValueError(lambda: 0)
    return "here"
"""


def test_beside_runs_a_call_in_a_forked_copy_and_hands_back_its_result_or_error():
    """A call started beside this process runs in another process while this one goes on;
    its result, or its error, comes back where the result is asked for; a copy that dies, or
    whose answer cannot be sent, leaves the call to this process."""
    code = (
        BESIDE
        + """
answer = pools.beside(os.getpid)
print(answer() != me)
try:
    pools.beside(fails)()
except ValueError as err:
    print(str(err).replace(" ", "-"))
print(pools.beside(child_only_dies)())
"""
    )
    assert _in_a_fresh_process(code) == ["True", "in-the-copy-True", "here"]


def test_beside_runs_the_call_here_where_forking_is_unsafe_or_gains_nothing():
    """torch loaded (its thread pools do not survive a fork), another thread running, one
    core, or not Linux: the call runs here, when its result is asked for."""
    code = (
        BESIDE
        + """
print(pools.beside(os.getpid)() == me)
stop = threading.Event()
waiting = threading.Thread(target=stop.wait)
waiting.start()
print(pools.beside(os.getpid)() == me)
stop.set()
waiting.join()
pools.cpu_count = lambda: 1
print(pools.beside(os.getpid)() == me)
pools.cpu_count = lambda: 2
sys.platform = "darwin"
print(pools.beside(os.getpid)() == me)
sys.platform = "linux"
import torch
print(pools.beside(os.getpid)() == me)
"""
    )
    assert _in_a_fresh_process(code) == ["False", "True", "True", "True", "True"]


def _loaded(module: str) -> bool:
    import sys

    return module in sys.modules


def test_each_process_of_a_pool_imports_its_preload_before_its_first_task():
    with ProcessPool(1, preload="tabnanny") as pool:
        assert pool.executor.submit(_loaded, "tabnanny").result()
    with ProcessPool(1) as pool:
        assert not pool.executor.submit(_loaded, "tabnanny").result()
