"""How a run was made: the command line, regexp's version and git commit, the versions of
Python, torch, Hydra and numpy, the device and the host. metrics.json keeps it under
"made_by", so a folder says which code, packages and machine produced its numbers."""

from __future__ import annotations

import functools
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

import regexp
from regexp.system.command import typed_command


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    """git's answer about the checkout regexp runs from; None outside a checkout."""
    root = Path(regexp.__file__).resolve().parents[1]
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.cache
def _code() -> dict[str, Any]:
    """The code's part, the same for every run of this process."""
    commit = _git("rev-parse", "HEAD")
    dirty = None if commit is None else bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "regexp": _version("regexp"),
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "torch": _version("torch"),
        "hydra": _version("hydra-core"),
        "numpy": _version("numpy"),
        "host": socket.gethostname(),
    }


@functools.cache
def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def made_by(device: str) -> dict[str, Any]:
    """The record of a run trained on `device` (cpu, cuda, cuda:1, ...) by this process.
    The command line is the one the user typed (regexp.system.command), else this
    process's."""
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        name = _cpu_name()
    return {"command": typed_command(), **_code(), "device_name": name}
