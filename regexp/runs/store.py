"""The store of finished jobs: a job trained once is not trained again.

Every job that finishes `ok` (its figures drawn, nothing left to do) goes into the store under
the outputs root, `$REGEXP_OUTPUTS/.store/` (a dot folder: `regexp compare outputs/` never
lists it), keyed by the job's identity. A later run or sweep with the same identity gets its
folder filled from the store instead of training (`"reused_from"` in its metrics.json).

A job's identity is everything that decides its numbers and nothing else: its validated
settings without the keys that cannot change them (its name, plots, logger, objective, reuse),
the device kind it trains on (cpu or cuda; `auto` resolved), the dtype, the contents of a CSV
data set, and a fingerprint of the code that computes the numbers (every module of
regexp/train/ and regexp/config/settings.py, which maps a config onto them), with the torch
and numpy versions. Figure, report and launcher code are not part of it: a changed figure is
drawn again from the stored weights.

An entry holds the job's metrics.json, history.csv, weights, its .hydra/ record and, when
drawn, its plots/: hard links to the job's own files where the filesystem allows, so nothing
is stored twice. It is made in a temporary folder and renamed into place with its manifest
(every file's size and SHA-256), so a reader sees a whole entry or none; two writers of one
entry leave one whole entry. An entry whose files do not match its manifest is ignored with
a warning, and replaced once the job is trained again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import shutil
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import regexp
from regexp.config.output import output_root
from regexp.config.settings import Settings
from regexp.runs.layout import NOT_DRAWN, REUSED, RunDir, write_json
from regexp.system.flags import ArgumentParser

log = logging.getLogger("regexp")

STORE = ".store"
MANIFEST = "manifest.json"
REUSE_ENV = "REGEXP_REUSE"  # 0: train every job, whatever the store holds (benchmarks)
# Settings keys that cannot change a job's numbers (dataclass fields of Settings)
NOT_IDENTITY = ("name", "plots", "logger", "objective", "reuse", "device")
# The code that decides a job's numbers, from the package's folder
TRAINING_CODE = ("train/*.py", "config/settings.py")
FIGURE_CODE = ("figures/draw.py", "figures/specs.py", "figures/templates.py")
DTYPE = "float32"  # what every model trains in


def _fingerprint(patterns: tuple[str, ...]) -> str:
    root = Path(regexp.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(p for pattern in patterns for p in root.glob(pattern)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def training_code() -> str:
    """SHA-256 of the code that decides a job's numbers (TRAINING_CODE)."""
    return _fingerprint(TRAINING_CODE)


@functools.cache
def figure_code() -> str:
    """SHA-256 of the code that draws a job's figures (FIGURE_CODE)."""
    return _fingerprint(FIGURE_CODE)


def device_kind(setting: str) -> str:
    """cpu or cuda, as `device` resolves: a CPU build of torch (its version says +cpu) answers
    `auto` without importing torch."""
    if setting != "auto":
        return setting.split(":")[0]
    if metadata.version("torch").endswith("+cpu"):
        return "cpu"
    import torch  # a CUDA build: only torch knows whether a GPU is there

    return "cuda" if torch.cuda.is_available() else "cpu"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def identity(settings: Settings) -> dict[str, Any]:
    """What decides the job's numbers (this module's docstring says what and why)."""
    config = dataclasses.asdict(settings)
    for key in NOT_IDENTITY:
        config.pop(key, None)
    ident: dict[str, Any] = {
        "config": config,
        "device": device_kind(settings.device),
        "dtype": DTYPE,
        "code": training_code(),
        "torch": metadata.version("torch"),
        "numpy": metadata.version("numpy"),
    }
    if settings.data.path is not None:  # a CSV file: its contents, not its name
        config["data"]["path"] = None
        try:
            ident["data_sha256"] = _file_sha256(Path(settings.data.path))
        except OSError:  # unreadable: no entry matches, and training says why
            ident["data_sha256"] = None
    return ident


def key_of(ident: dict[str, Any]) -> str:
    text = json.dumps(ident, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def reuse_on(settings: Settings) -> bool:
    """Whether the job may be filled from the store: `reuse` (true by default), unless
    REGEXP_REUSE=0 (scripts and benchmarks that time training)."""
    return settings.reuse and os.environ.get(REUSE_ENV, "1") != "0"


def _link(src: Path, dst: Path) -> None:
    """dst as a hard link to src (replacing what dst held), a copy where the filesystem
    cannot link."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _files(folder: Path) -> list[Path]:
    """A finished job's files worth keeping, relative to its folder."""
    run = RunDir(folder)
    kept = [run.metrics_file, run.history_file, run.weights_file]
    kept += sorted(p for p in run.hydra_dir.glob("*.yaml"))
    if run.plots_dir.is_dir():
        kept += sorted(p for p in run.plots_dir.iterdir() if p.is_file())
    return [p.relative_to(folder) for p in kept if p.is_file()]


@dataclasses.dataclass(frozen=True)
class Entry:
    """A whole entry of the store: its folder and manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def origin(self) -> str:
        """The folder the job was first trained in."""
        return str(self.manifest["origin"])

    def metrics(self) -> dict[str, Any]:
        return RunDir(self.path).metrics()


def _whole(path: Path) -> dict[str, Any]:
    """The manifest of the entry at path; ValueError (or OSError) when a file of it is missing
    or does not match its size and SHA-256."""
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    try:
        for name, (size, digest) in manifest["files"].items():
            file = path / name
            if file.stat().st_size != size or _file_sha256(file) != digest:
                raise ValueError(f"{name} does not match the manifest")
    except (KeyError, TypeError) as err:
        raise ValueError(f"a manifest without its files ({err})") from None
    return manifest


class Store:
    """The store under an outputs root (by default $REGEXP_OUTPUTS, else ./outputs)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else output_root() / STORE

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def find(self, settings: Settings) -> Entry | None:
        """The job's entry, whole and matching its manifest; None when there is none (a
        damaged one is ignored with a warning)."""
        path = self._path(key_of(identity(settings)))
        if not path.is_dir():
            return None
        try:
            return Entry(path, _whole(path))
        except (OSError, ValueError) as err:
            log.warning("store: ignoring the damaged entry %s (%s); the job trains again",
                        path, err)  # fmt: skip
            return None

    def put(self, folder: Path, settings: Settings) -> Entry | None:
        """Keep a finished ok job's folder (status ok, its figures drawn); None when the job
        is not one to keep or the store cannot take it (a warning: the job's own folder is
        what matters)."""
        try:
            metrics = RunDir(folder).metrics()
            if metrics.get("status") != "ok" or metrics.get("figures") == NOT_DRAWN:
                return None
            return self._put(folder, settings, metrics)
        except (OSError, ValueError) as err:
            log.warning("store: job %s not stored (%s)", folder, err)
            return None

    def _put(self, folder: Path, settings: Settings, metrics: dict[str, Any]) -> Entry:
        ident = identity(settings)
        key = key_of(ident)
        final = self._path(key)
        if final.is_dir():
            try:
                return Entry(final, _whole(final))  # stored already (a reused job, say)
            except (OSError, ValueError):
                shutil.rmtree(final, ignore_errors=True)  # damaged: replaced
        tmp = self.root / "tmp" / f"{key}.{os.getpid()}.{time.monotonic_ns()}"
        files = _files(folder)
        for name in files:
            _link(folder / name, tmp / name)
        plotted = (tmp / "plots").is_dir()
        manifest = {
            "key": key,
            "origin": str(Path(metrics.get(REUSED) or folder).resolve()),
            "stored": time.strftime("%Y-%m-%d %H:%M:%S"),
            "figure_code": figure_code() if plotted else None,
            "plots": _plots(settings) if plotted else None,
            "identity": ident,
            "files": {
                name.as_posix(): [(tmp / name).stat().st_size, _file_sha256(tmp / name)]
                for name in files
            },
        }
        write_json(tmp / MANIFEST, manifest)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(tmp, final)
        except OSError:  # another writer stored the same job first: its entry stays
            shutil.rmtree(tmp, ignore_errors=True)
        return Entry(final, manifest)

    def entries(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("??/*") if p.is_dir())

    def size(self) -> tuple[int, int]:
        """(entries, bytes of their files)."""
        paths = self.entries()
        total = sum(f.stat().st_size for p in paths for f in p.rglob("*") if f.is_file())
        return len(paths), total

    def clear(self) -> int:
        """Remove every entry (and what interrupted writers left); how many there were."""
        n = len(self.entries())
        if self.root.is_dir():
            shutil.rmtree(self.root)
        return n


def fill(entry: Entry, out: Path, settings: Settings) -> tuple[dict[str, Any], bool]:
    """A job's folder (made already, with its own .hydra/ files) filled from its entry:
    weights and history linked, plots too when drawn by the same figure code and plot
    settings; metrics.json the entry's, its name this job's, with "reused_from". (metrics,
    whether its figures are still to draw)."""
    run, stored = RunDir(out), RunDir(entry.path)
    for name in (stored.weights_file, stored.history_file):
        _link(name, out / name.name)
    metrics = entry.metrics()
    metrics["name"] = settings.name
    metrics[REUSED] = entry.origin
    to_draw = settings.plots.enabled
    same_figures = entry.manifest.get("figure_code") == figure_code()
    if to_draw and same_figures and entry.manifest.get("plots") == _plots(settings):
        for plot in sorted(stored.plots_dir.iterdir()):
            _link(plot, run.plots_dir / plot.name)
        to_draw = False
    if to_draw:
        metrics["figures"] = NOT_DRAWN
    run.write_metrics(metrics)
    return metrics, to_draw


def _plots(settings: Settings) -> dict[str, Any]:
    return dataclasses.asdict(settings.plots)


def _size(n_bytes: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return ""


def cli(argv: list[str]) -> int:
    """`regexp store`: how many finished jobs the store holds and their size; --clear empties
    it (every later job trains again, once)."""
    parser = ArgumentParser(
        prog="regexp store",
        description="The store of finished jobs under the outputs root ($REGEXP_OUTPUTS, else "
        "./outputs): a job trained once is filled from it, not trained again.",
    )
    parser.add_argument("--clear", action="store_true", help="remove every stored job")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    store = Store()
    if args.clear:
        n = store.clear()
        print(f"store {store.root}: removed {n} job(s)")
        return 0
    n, total = store.size()
    shared = " (hard links: shared with the job folders that made them)" if n else ""
    print(f"store {store.root}: {n} job(s), {_size(total)}{shared}")
    return 0
