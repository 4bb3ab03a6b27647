"""regexp.figures.pool: processes that draw figures; wait() returns once every draw and its
callback are done, and a broken pool says so."""

import time
from concurrent.futures import BrokenExecutor

import pytest

from regexp.figures.pool import FigurePool


@pytest.fixture(scope="module")
def pool():
    with FigurePool(1) as pool:
        yield pool


def test_its_processes_start_at_once_and_ignore_interrupts(pool):
    """Started with the pool, not at the first figure; Ctrl-C is the owner's to handle."""
    import os
    import signal

    pids = {pool.executor.submit(os.getpid).result() for _ in range(4)}
    assert len(pids) == 1 and os.getpid() not in pids
    handlers = pool.executor.submit(signal.getsignal, signal.SIGINT).result()
    assert handlers == signal.SIG_IGN


def test_wait_returns_after_every_callback(pool, tmp_path):
    """metrics.json is written by the callback: the owner must not end the sweep before."""
    done = []

    def slow_callback(err, i):
        time.sleep(0.1)
        done.append((i, err))

    for i in range(3):
        pool.draw([], lambda err, i=i: slow_callback(err, i))
    pool.draw([("no_such_figure", (tmp_path / "x.png",), {})], lambda err: done.append((-1, err)))
    pool.wait()
    assert sorted(i for i, _ in done) == [-1, 0, 1, 2]
    assert [err for i, err in done if i >= 0] == [None] * 3
    assert isinstance(dict(done)[-1], KeyError)  # a drawing's error reaches its callback


def test_a_broken_pool_refuses_draws():
    import os

    with FigurePool(1) as pool:
        pool.executor.submit(os._exit, 1)
        time.sleep(0.5)
        with pytest.raises(BrokenExecutor):
            for _ in range(20):
                pool.draw([], lambda err: None)
                time.sleep(0.1)
