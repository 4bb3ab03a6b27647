"""regexp.system.allocator: glibc keeps freed blocks once asked, once per process; off glibc
it says it could not."""

import ctypes
import platform

import pytest

from regexp.system import allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_keeps_freed_memory_once_asked():
    assert allocator.keep_freed_memory() is True
    assert allocator.keep_freed_memory() is True  # cached: asked once per process


def test_without_mallopt_it_says_so(monkeypatch):
    def no_libc(name):
        raise OSError("no C library here")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    allocator.keep_freed_memory.cache_clear()
    try:
        assert allocator.keep_freed_memory() is False
    finally:
        allocator.keep_freed_memory.cache_clear()
