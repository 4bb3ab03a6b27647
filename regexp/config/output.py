"""Where output folders go, and claiming one for a single writer.

Outputs go under $REGEXP_OUTPUTS, else ./outputs (conf/config.yaml reads the same variable
for Hydra's run and sweep folders; an empty value means unset). A claimed folder is created
here, so two runs started in the same second never share one: the second gets `-1`, the
third `-2`, ...

A run's or sweep's folder is claimed by an exclusive lock (fcntl.flock) on its lock file,
LOCK, taken before anything is written into it and held until the writer ends (Claim). A
second writer into the same folder, started at the same moment, or a second `--resume` of
one sweep, finds the lock taken and is refused. The lock file stays (empty but for its last
holder's pid): every writer locks one and the same file, and a folder holding nothing else
is still fresh.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
import weakref
from datetime import datetime
from pathlib import Path
from typing import Any

from regexp.config.errors import ConfigError, UsageError

ROOT_ENV = "REGEXP_OUTPUTS"
DEFAULT_ROOT = Path("outputs")
LOCK = ".regexp.lock"


def output_root() -> Path:
    """The outputs root: $REGEXP_OUTPUTS, else ./outputs."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def drop_empty_root() -> None:
    """An empty $REGEXP_OUTPUTS means unset: removed from this process's environment, so
    conf/config.yaml's ${oc.env:REGEXP_OUTPUTS,outputs} (and every process started from
    here) reads the default rather than putting outputs under `/`."""
    if os.environ.get(ROOT_ENV) == "":
        del os.environ[ROOT_ENV]


def claim(path: Path | str) -> Path:
    """Create and return path, or path-1, path-2, ... when it exists already (os.mkdir is
    atomic, so concurrent runs get distinct folders)."""
    return _first_free(Path(path), lambda candidate: candidate)


def _first_free(path: Path, take: Any) -> Any:
    """take(candidate) of the first of path, path-1, ... this process creates, where take
    does not answer None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for n in range(10_000):
        candidate = path if n == 0 else path.with_name(f"{path.name}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        taken = take(candidate)
        if taken is not None:
            return taken
    raise RuntimeError(f"could not claim a folder like {path}")


def claim_dir(parent: Path | str, now: datetime | None = None, flag: str | None = None) -> Path:
    """Create and return a new folder parent/YYYY-MM-DD/HH-MM-SS[-N]; a UsageError naming
    `flag` (the option that gave parent) when it cannot be made."""
    now = now or datetime.now()
    try:
        return claim(Path(parent) / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S"))
    except OSError as err:
        if flag is None:
            raise
        raise UsageError(f"{flag}: cannot create a folder in {parent}: {err.strerror}") from None


class Claim:
    """A folder claimed by this process: its lock file's descriptor, the lock held while it is
    open (release(), the end of a `with` block, or the process's end closes it)."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._close = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        self._close()

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _locked(folder: Path) -> Claim | None:
    """folder's lock file (created when missing), locked exclusively by this process; None
    when another process holds it. Raises OSError when the folder cannot be written."""
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        text = f"pid {os.getpid()} on {socket.gethostname()}\n".encode()
        os.pwrite(fd, text, 0)  # write, then cut: a reader never finds the file emptied
        os.ftruncate(fd, len(text))
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return Claim(folder, fd)


def holder(folder: Path, wait: float = 1.0) -> str:
    """Who holds folder's lock, as its lock file says (pid N on HOST), else 'another process'.
    Waits up to `wait` seconds for the text: the holder truncates, then writes it."""
    deadline = time.monotonic() + wait
    while True:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            text = (folder / LOCK).read_text(encoding="utf-8").strip()
            if text:
                return text
        if time.monotonic() >= deadline:
            return "another process"
        time.sleep(0.02)


def holds_anything(folder: Path) -> bool:
    """Whether folder holds anything but its lock file."""
    with os.scandir(folder) as entries:
        return any(entry.name != LOCK for entry in entries)


def claim_new(path: Path | str) -> Claim:
    """path, or path-1, path-2, ...: the first folder this process creates and locks (a
    folder named by the time)."""

    def take(candidate: Path) -> Claim | None:
        held = _locked(candidate)
        if held is not None and holds_anything(candidate):  # another writer named it
            held.release()
            return None
        return held

    return _first_free(Path(path), take)


def claim_named(path: Path | str, key: str, resume_hint: str = "", resume: bool = False) -> Claim:
    """A folder the user named, created when missing and locked; ConfigError naming key when
    it is a file, cannot be written, another process holds it, or it holds anything (a
    resumed sweep's folder aside: resume). resume_hint: what to do instead, for a folder
    that holds results."""
    path = Path(path)
    full = f"{path} already holds results; {resume_hint or 'give'} a fresh folder"
    try:  # look first: a folder that holds results is left as it was, lock file and all
        if path.exists() and not path.is_dir():
            raise ConfigError(key, f"{path} is a file, not a folder")
        if path.is_dir() and not resume and holds_anything(path):
            raise ConfigError(key, full)
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(key, f"cannot create {path}: {err.strerror or err}") from None
    try:
        held = _locked(path)
    except OSError as err:
        raise ConfigError(key, f"cannot write into {path}: {err.strerror or err}") from None
    if held is None:
        raise ConfigError(
            key, f"{path} is being written by {holder(path)}; wait for it to end, or give "
            "another folder"
        )  # fmt: skip
    if not resume and holds_anything(path):  # written between the look and the lock
        held.release()
        raise ConfigError(key, full)
    return held
