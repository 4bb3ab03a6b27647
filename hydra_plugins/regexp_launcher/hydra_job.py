"""A job's folder as Hydra's run_job makes it, without its cost: the .hydra/ files and the log
file, for the jobs of a stacked program (the batched launcher hands `JobWriter.open` to
regexp.runs.run_unit as where each job's folder is).

run_job deep-copies the whole config twice per job, reconfigures logging and dumps three YAML
files: more work than the rest of a trained program's job (its weights, history and
metrics). JobWriter keeps one composed base config per choice of config groups and, per job,
sets only what Hydra's load_sweep_config sets per job (id, number, override_dirname, task
overrides, output folder). After a writer's first job, which goes through OmegaConf in full,
jobs whose config holds no interpolation skip OmegaConf altogether: their folder is
sweep.dir/job.num, their hydra.yaml is a text template filled in, and the log file handlers
move to their folder (docs/speed.md, tricks 5a and 5b). tests/launcher/test_hydra_job.py and
the end-to-end tests compare the files with run_job's, whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.utils import configure_log
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from regexp.config.hydra_shim import hydra_config, job_files, yaml_text
from regexp.config.overrides import patched

FIELDS = ("job.id", "job.num", "job.override_dirname", "overrides.task", "runtime.output_dir")


def hydra_yaml_template(hydra_tree: dict) -> Callable[[dict[str, Any]], str | None] | None:
    """render(fields) → yaml_text({"hydra": patched(hydra_tree, fields)}) for FIELDS, by
    filling one dump of the tree in; None where the dump does not allow it (render gives
    None for values an emitter would fold)."""
    sentinels = {key: f"regexp-sentinel-{i}" for i, key in enumerate(FIELDS)}
    text = yaml_text({"hydra": patched(hydra_tree, sentinels)})
    lines = text.splitlines(keepends=True)
    slots: dict[str, int] = {}
    for n, line in enumerate(lines):
        for key, sentinel in sentinels.items():
            if line.rstrip("\n").endswith(f"{key.rsplit('.', 1)[1]}: {sentinel}"):
                slots[key] = n
    if len(slots) != len(FIELDS) or text.count("regexp-sentinel-") != len(FIELDS):
        return None

    names = {key: key.rsplit(".", 1)[1] for key in FIELDS}  # distinct last names

    def render(fields: dict[str, Any]) -> str | None:
        if _foldable([fields[key] for key in FIELDS]):
            return None  # an emitter folds it at a column that depends on its indent
        # one dump of the five values, cut at each name's line (a list item starts "- ")
        dumped = yaml_text({names[key]: fields[key] for key in FIELDS}).splitlines(True)
        starts = [i for i, line in enumerate(dumped) if line.split(":", 1)[0] in names.values()]
        out = list(lines)
        for key, begin, end in zip(FIELDS, starts, [*starts[1:], len(dumped)]):
            n = slots[key]
            indent = out[n][: len(out[n]) - len(out[n].lstrip(" "))]
            out[n] = "".join(indent + part for part in dumped[begin:end])
        return "".join(out)

    return render


def _foldable(values: list[Any]) -> bool:
    """Whether a YAML emitter may fold a string among values onto more lines: it breaks
    lines at spaces, past 80 columns."""
    for value in values:
        if isinstance(value, list) and _foldable(value):
            return True
        if isinstance(value, str) and " " in value and len(value) > 40:
            return True
    return False


class LogFiles:
    """Where the job log's file handlers write, shared by a group's writers."""

    def __init__(self) -> None:
        self.dir: Path | None = None

    def move(self, out: Path) -> None:
        """Instead of configuring logging anew for each job, only the file handlers move to
        the next job's folder (same file name, formatter and level)."""
        root = logging.getLogger()
        for h in list(root.handlers):
            if isinstance(h, logging.FileHandler) and Path(h.baseFilename).parent == self.dir:
                new = logging.FileHandler(out / Path(h.baseFilename).name, h.mode, h.encoding)
                new.setFormatter(h.formatter)
                new.setLevel(h.level)
                root.removeHandler(h)
                h.close()
                root.addHandler(new)
        self.dir = out


class JobWriter:
    """Writes the .hydra/ files and log file of the jobs of one base config, one at a time."""

    def __init__(self, base: DictConfig, hydra_tree: dict, logs: LogFiles):
        self.base, self.hydra_tree, self.logs = base, hydra_tree, logs
        self.sweep_dir = Path(str(base.hydra.sweep.dir))
        subdir = OmegaConf.to_container(base.hydra.sweep, resolve=False)["subdir"]
        self.numbered = subdir == "${hydra.job.num}"  # Hydra's default: the folder is job.num
        subdir_meta = base.hydra.output_subdir
        self.meta = None if subdir_meta is None else str(subdir_meta)
        self.render = hydra_yaml_template(hydra_tree)

    def folder(self, fields: dict[str, Any], task: dict, plain: bool) -> Path:
        """Make the job's folder with its .hydra/ files and point the log file at it, as
        run_job does before it calls the task; fields gets runtime.output_dir."""
        out = self._open(fields, plain)
        self._files(out, task, fields)
        return out

    def _open(self, fields: dict[str, Any], plain: bool) -> Path:
        if plain and self.numbered and self.logs.dir is not None and self.render is not None:
            out = (self.sweep_dir / str(fields["job.num"])).absolute()
            out.mkdir(parents=True, exist_ok=True)
            fields["runtime.output_dir"] = str(out)
            self.logs.move(out)
            return out
        with read_write(self.base.hydra), open_dict(self.base.hydra):
            for key, value in fields.items():
                OmegaConf.update(self.base.hydra, key, value, merge=False)
            out = (self.sweep_dir / str(self.base.hydra.sweep.subdir)).absolute()
            fields["runtime.output_dir"] = self.base.hydra.runtime.output_dir = str(out)
        out.mkdir(parents=True, exist_ok=True)
        with hydra_config(self.base):  # the log file name interpolates hydra.runtime
            configure_log(self.base.hydra.job_logging, self.base.hydra.verbose)
        self.logs.dir = out
        return out

    def _files(self, out: Path, task: dict, fields: dict[str, Any]) -> None:
        """config.yaml, hydra.yaml, overrides.yaml in the job's .hydra/ (when Hydra writes
        them: hydra.output_subdir not null)."""
        if self.meta is not None:
            hydra = self.render(fields) if self.render is not None else None
            if hydra is None:
                hydra = yaml_text({"hydra": patched(self.hydra_tree, fields)})
            job_files(out / self.meta, yaml_text(task), hydra, fields["overrides.task"])
