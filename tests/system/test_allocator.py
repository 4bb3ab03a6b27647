"""regexp.system.allocator: glibc keeps freed blocks once asked, once per process; off glibc
it says it could not."""

import ctypes
import platform
from types import SimpleNamespace

import pytest

from regexp.system import allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_keeps_freed_memory_once_asked():
    assert allocator.keep_freed_memory() is True


@pytest.fixture
def libc(monkeypatch):
    """A C library whose mallopt counts its calls and answers as told (1: done, 0: refused)."""
    fake = SimpleNamespace(calls=0, answer=1)

    def mallopt(param: int, value: int) -> int:
        fake.calls += 1
        return fake.answer

    monkeypatch.setattr(ctypes, "CDLL", lambda name: SimpleNamespace(mallopt=mallopt))
    allocator.keep_freed_memory.cache_clear()
    yield fake
    allocator.keep_freed_memory.cache_clear()


def test_the_allocator_is_asked_once_per_process(libc):
    assert allocator.keep_freed_memory() is True
    asked = libc.calls
    assert asked > 0
    assert allocator.keep_freed_memory() is True
    assert libc.calls == asked


def test_a_refused_mallopt_says_so(libc):
    libc.answer = 0
    assert allocator.keep_freed_memory() is False


def test_without_mallopt_it_says_so(monkeypatch):
    def no_libc(name):
        raise OSError("no C library here")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    allocator.keep_freed_memory.cache_clear()
    try:
        assert allocator.keep_freed_memory() is False
    finally:
        allocator.keep_freed_memory.cache_clear()
