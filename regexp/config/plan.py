"""What `regexp run` and `regexp sweep` will do, settled before anything starts: every job
checked, how many jobs the sweeper launches, and the output folder (claimed, so runs started
in the same second never share one).

The output folder is Hydra's own hydra.run.dir / hydra.sweep.dir, from conf/config.yaml, a
user's config file or the command line; the CLI resolves it once and hands Hydra the result,
so the folder it prints is the folder Hydra wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from regexp.config import output, size
from regexp.config.compose import DEFAULT_SOURCE, Source, check_config, compose
from regexp.config.errors import ConfigError, UsageError
from regexp.config.job_dirs import check_subdirs
from regexp.config.jobs import JobConfigs, check_jobs, count_jobs, expand_sweep
from regexp.config.launchers import check_launcher
from regexp.config.overrides import parse_override, split_values, with_values
from regexp.config.settings import Settings


@dataclass(frozen=True)
class Plan:
    overrides: list[str]  # what Hydra gets: the user's, with the output folder made explicit
    out: Path  # the run folder, or the sweep folder
    settings: list[Settings]  # every checked job (an optimizing sweep: its search space's corners)
    expected: int  # jobs the sweep launches (1 for a run)
    optimizing: bool = False  # an optimizing sweeper (Optuna, Nevergrad, ...) picks the jobs
    jobs: list[list[str]] | None = None  # a basic sweep's jobs' overrides, in job order
    claim: output.Claim | None = None  # the folder's lock, held until the command ends

    def held(self) -> AbstractContextManager[Any]:
        """The claim as a `with` block: released at its end (nothing, when not claimed)."""
        return self.claim if self.claim is not None else nullcontext()


def _quoted(path: Path) -> str:
    """A path as a quoted override value (commas, spaces and = stay literal)."""
    text = str(path).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _resolved(cfg: DictConfig, key: str) -> str:
    """cfg's value at key, interpolations resolved (${hydra:...} included)."""
    from hydra.core.hydra_config import HydraConfig

    try:
        return str(OmegaConf.select(cfg, key, throw_on_missing=True))
    except OmegaConfBaseException:
        pass
    try:  # ${hydra:...} resolves against HydraConfig, which Hydra sets when the job starts
        HydraConfig.instance().set_config(cfg)
        return str(OmegaConf.select(cfg, key, throw_on_missing=True))
    except OmegaConfBaseException as err:
        first = str(err).splitlines()[0]
        raise ConfigError(key, f"cannot be resolved before the run starts: {first}") from None


def _output_dir(
    cfg: DictConfig,
    overrides: Sequence[str],
    kind: str,
    claim: bool,
    resume: bool = False,
    settings: Sequence[Settings] = (),
    jobs: int = 1,
) -> tuple[Path, list[str], output.Claim | None]:
    """(the folder, the overrides with `hydra.<kind>.dir=<it>` in place of any given, its
    claim: None when not claimed).

    A folder named by the time (${now:...}, as the default is) is claimed: created here, with
    -1, -2, ... appended when it exists. A fixed folder is claimed too, and must not hold
    anything yet (a resumed sweep's own folder aside): a run or sweep never writes into a
    folder that holds results, nor into one another process is writing (regexp.config.output).
    ConfigError when the folder cannot be made or claimed."""
    key = f"hydra.{kind}.dir"
    raw = str(OmegaConf.to_container(cfg.hydra[kind], resolve=False).get("dir"))
    path = Path(_resolved(cfg, key))
    if claim and settings and not resume:  # a resume writes only what is left: not known here
        size.check_disk(settings, jobs, path, key)
    held = None
    if claim and "${now:" in raw and not resume:
        try:
            held = output.claim_new(path)
        except OSError as err:
            raise ConfigError(key, f"cannot create {path}: {err.strerror or err}") from None
        path = held.path
    elif claim:
        hint = f"continue that sweep with `regexp sweep --resume {path}`, or give"
        hint = hint if kind == "sweep" else ""
        held = output.claim_named(path, "--resume" if resume else key, hint, resume)
    kept = [o for o in overrides if parse_override(o).key_or_group != key]
    return path, [*kept, f"{key}={_quoted(path)}"], held


def plan_run(
    overrides: Sequence[str],
    source: Source = DEFAULT_SOURCE,
    claim: bool = True,
    confirmed: bool = False,
) -> Plan:
    """Check one run's config and its size (confirmed: --yes for long ones), and claim its
    folder (claim=False: only check the config)."""
    cfg = compose(overrides, source, with_hydra=True)
    settings = check_config(cfg, overrides, source)
    if claim:  # it will run (not only --cfg): its size
        size.check_lengths([settings], confirmed)
        size.check_memory([settings])
    out, given, held = _output_dir(cfg, overrides, "run", claim, settings=[settings])
    return Plan(given, out, [settings], 1, claim=held)


def plugin_class(target: str, group: str, choice: str | None = None) -> type:
    """The class a hydra/launcher or hydra/sweeper config instantiates (its _target_);
    UsageError naming the pip package when its plugin is not installed."""
    module, _, name = target.rpartition(".")
    try:  # not hydra.utils.get_class, which logs an error of its own first
        found = getattr(import_module(module), name)
        if not isinstance(found, type):
            raise TypeError(target)
        return found
    except Exception:
        parts = target.split(".")
        package = parts[1].replace("_", "-") if parts[0] == "hydra_plugins" else parts[0]
        raise UsageError(
            f"{group}={choice or target} needs the {package} package: pip install {package}"
        ) from None


def _plugin_class(cfg: DictConfig, group: str) -> type:
    target = str(OmegaConf.select(cfg, f"hydra.{group.split('/')[-1]}._target_"))
    return plugin_class(target, group, OmegaConf.select(cfg, f"hydra.runtime.choices.{group}"))


def optimizing(sweeper: type) -> bool:
    """Whether a sweeper class picks its jobs itself (Optuna, Nevergrad, ...) rather than
    running Hydra's basic sweep of the overrides."""
    from regexp.config.hydra_shim import basic_sweeper

    return not issubclass(sweeper, basic_sweeper())


def _trials(sweeper: Any) -> int | None:
    """How many jobs an optimizing sweeper launches (Optuna, Nevergrad, Ax)."""
    for key in ("n_trials", "optim.budget", "ax_config.max_trials"):
        value = OmegaConf.select(sweeper, key)
        if isinstance(value, int):
            return value
    return None


def _composed(fixed: Sequence[str], source: Source) -> tuple[DictConfig, JobConfigs]:
    """(the sweep's config with its `hydra` node, the jobs' configs).

    One compose serves both where it can: the jobs' base (split_values: the group choices and
    hydra overrides) with `hydra`, then the fixed KEY=VALUE overrides set on it. That leaves
    hydra.overrides.task and hydra.job.override_dirname as the base's, so a sweep folder named
    after them, or any error, takes Hydra's full compose."""
    configs = JobConfigs(lambda key: compose(key, source))
    base_key, values = split_values(fixed)
    try:
        base = compose(base_key, source, with_hydra=True)
        raw = str(OmegaConf.to_container(base.hydra.sweep, resolve=False).get("dir"))
        if values and ("hydra.job" in raw or "hydra.overrides" in raw or "hydra:" in raw):
            raise ValueError("the folder depends on the overrides")
        cfg = with_values(base, values) if values else base
    except Exception:
        return compose(fixed, source, with_hydra=True), configs
    configs.add_base(base_key, base)
    return cfg, configs


def plan_sweep(
    overrides: Sequence[str],
    source: Source = DEFAULT_SOURCE,
    claim: bool = True,
    resume: bool = False,
    confirmed: bool = False,
) -> Plan:
    """Check every job of a sweep before the first starts, their number and size (confirmed:
    --yes for many or long ones), and claim the sweep's folder (resume: the folder of the sweep
    being resumed, holding its results; claim=False: only check the jobs' configs).

    The sweeper's own params (hydra.sweeper.params) count as overrides, as Hydra's sweepers
    read them. An optimizing sweeper's search space is checked at its corners (each end of
    every interval, every choice), the jobs it may launch; a sweeper class with a
    `check_plan(sweeper_config, lines[, resume_dir])` checks its own settings first
    (ConfigError; resume_dir: the folder of the sweep resumed)."""
    fixed = [o for o in overrides if not parse_override(o).is_sweep_override()]
    cfg, configs = _composed(fixed, source)
    _plugin_class(cfg, "hydra/launcher")
    check_launcher(
        cfg.hydra.launcher, OmegaConf.select(cfg, "hydra.runtime.choices.hydra/launcher")
    )
    sweeper = _plugin_class(cfg, "hydra/sweeper")
    params = OmegaConf.to_container(cfg.hydra.sweeper, resolve=False).get("params") or {}
    lines = [f"{k}={v}" for k, v in params.items()] + list(overrides)
    if hasattr(sweeper, "check_plan"):  # a sweeper's own settings (regexp's Optuna sweeper)
        resumed = {"resume_dir": Path(_resolved(cfg, "hydra.sweep.dir"))} if resume else {}
        sweeper.check_plan(cfg.hydra.sweeper, lines, **resumed)
    searching = optimizing(sweeper)
    trials = _trials(cfg.hydra.sweeper) if searching else None
    if claim:  # it will run (not only --cfg): its number of jobs, before listing them
        size.check_count(trials or count_jobs(lines), confirmed)
    jobs = expand_sweep(lines, discrete=searching)
    if not jobs:
        empty = [o for o in lines if parse_override(o).is_sweep_override()]
        raise UsageError(f"the sweep has no jobs: {' '.join(empty) or 'nothing to sweep'}")
    settings = check_jobs(jobs, source, configs)
    if claim:
        size.check_lengths(settings, confirmed)
        size.check_memory(settings)
    # an optimizing sweeper's trials: numbered from 0, their overrides told as they come
    check_subdirs(cfg, (jobs * 2)[:2] if searching else jobs)
    expected = trials or len(jobs)
    out, given, held = _output_dir(cfg, overrides, "sweep", claim, resume, settings, expected)
    return Plan(given, out, settings, expected, searching, None if searching else jobs, held)
