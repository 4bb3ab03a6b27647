"""A sweep's Optuna study (hydra/sweeper=optuna): where it lives, its sampler and pruner by
name, the distributions of its search space, checked before any folder; the search the
sweeper runs over it (open_search, regexp.runs.search), and the trial a job alone is
(lone_trial).

By default the study lives in the sweep folder, SQLite's study.db: `regexp sweep --resume`
reopens it and `optuna-dashboard sqlite:///DIR/study.db` shows it. Optuna is imported only
where a sweep searches with it (the sweeper's process, its jobs', and its ending's).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from regexp.config.errors import ConfigError
from regexp.config.objective import register_resolvers
from regexp.config.overrides import parse_override
from regexp.config.search_space import Dimension, SearchSpace, search_space
from regexp.runs.layout import SweepDir
from regexp.runs.pruners import make_pruner
from regexp.runs.search import (  # noqa: F401 (the sweeper's and the ending's, through here)
    Search,
    TrialJobs,
    Trials,
    asked,
    best_so_far,
    failure_rate,
    tell,
    unfinished,
)

log = logging.getLogger("regexp")
# hydra.sweeper.sampler.name -> the class in optuna.samplers
SAMPLERS = {
    "tpe": "TPESampler",
    "cmaes": "CmaEsSampler",
    "random": "RandomSampler",
    "qmc": "QMCSampler",
}
DIRECTIONS = ("minimize", "maximize")


def search_space_of(params: Any, overrides: Sequence[str]) -> SearchSpace:
    """The search space of hydra.sweeper.params, then the overrides (Hydra's own left out)."""
    lines = [f"{k}={v}" for k, v in (params or {}).items()] + list(overrides)
    return search_space([o for o in lines if not parse_override(o).is_hydra_override()])


def check_plan(conf: Any, lines: Sequence[str], resume_dir: Path | None = None) -> None:
    """The sweeper's settings (hydra.sweeper) and its search space, as the CLI checks them
    before any folder: ConfigError naming the key of a count out of range, a direction,
    sampler, storage or search space Optuna would refuse; resume_dir: the sweep being
    resumed, whose study must not hold more trials than n_trials asks for in all."""
    register_resolvers()
    for key, low in (("n_trials", 1), ("n_jobs", 1)):
        if conf[key] < low:
            raise ConfigError(f"hydra.sweeper.{key}", f"must be at least {low}; got {conf[key]}")
    if not 0 <= conf.max_failure_rate <= 1:
        raise ConfigError("hydra.sweeper.max_failure_rate", "must lie in [0, 1]")
    if conf.direction not in DIRECTIONS:
        raise ConfigError("hydra.sweeper.direction", f"must be one of {', '.join(DIRECTIONS)}")
    make_sampler(OmegaConf.to_container(conf.sampler, resolve=True))
    make_pruner(_container(OmegaConf.select(conf, "pruner")))
    distributions(search_space_of(None, lines))
    check_storage(conf.storage)
    held = trials_held(conf.storage, resume_dir, conf.study_name) if resume_dir else 0
    if conf.n_trials < held:
        raise ConfigError(
            "hydra.sweeper.n_trials", f"{conf.n_trials} is fewer than the {held} trials the "
            f"study in {resume_dir} holds: it counts the study's trials in all; give "
            f"{held} or more"
        )  # fmt: skip


def _container(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def save_sweep(config: DictConfig, sweep_dir: Path) -> None:
    """The sweep's config in its folder (multirun.yaml), as Hydra's basic sweeper saves it:
    what `regexp sweep --resume` reads back."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(config, SweepDir(sweep_dir).multirun_file)


def quiet_optuna() -> None:
    """Optuna as a sweep shows it, for this process: its INFO lines (a study created, each
    trial told) left to the sweeper's line per batch, and no ExperimentalWarning for the
    experimental APIs regexp calls on purpose (the QMC sampler, optuna.visualization)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def storage_url(storage: str | None, sweep_dir: Path | str) -> str:
    """The study's storage: the one given, else SQLite in the sweep folder (study.db)."""
    return storage or f"sqlite:///{SweepDir(sweep_dir).study_file.absolute()}"


def _storage(storage: str | None, sweep_dir: Path | str) -> optuna.storages.RDBStorage:
    """The storage a sweep writes its study to: the one given, as given; else study.db with
    synchronous=OFF. Optuna commits several times per trial, and waiting for the disk at each
    commit made the study the slowest part of a batched search; a killed sweep loses nothing
    (the system holds the writes), only a machine that loses power may."""
    if storage:
        return optuna.storages.RDBStorage(storage)
    path = SweepDir(sweep_dir).study_file.absolute()

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA synchronous=OFF")
        return connection

    return optuna.storages.RDBStorage(f"sqlite:///{path}", engine_kwargs={"creator": connect})


def check_storage(storage: str | None) -> None:
    """ConfigError naming hydra.sweeper.storage unless it is empty (study.db in the sweep
    folder) or a database URL Optuna can open: one SQLAlchemy parses, whose driver is
    installed, a SQLite file in a folder that exists. A server's database is not asked."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    key = "hydra.sweeper.storage"
    if storage is None:
        return
    example = "sqlite:///PATH/study.db, postgresql://HOST/DB, or null for study.db in the sweep"
    try:
        url = make_url(str(storage))
        dialect = url.get_dialect()
    except ArgumentError:
        raise ConfigError(key, f"{storage!r} is not a database URL; give {example}") from None
    except NoSuchModuleError:
        raise ConfigError(key, f"{storage!r}: unknown database; give {example}") from None
    try:
        dialect.import_dbapi()
    except ImportError as err:
        raise ConfigError(
            key, f"{storage!r} needs the {err.name} package: pip install it"
        ) from None
    if url.get_backend_name() != "sqlite":
        return
    if url.database in (None, "", ":memory:"):
        raise ConfigError(
            key, f"{storage!r} keeps the study in memory, lost at the end; give a file"
        )
    folder = Path(url.database).absolute().parent
    if not folder.is_dir():
        raise ConfigError(key, f"{storage!r}: no such folder {folder}")
    if not os.access(folder, os.W_OK):
        raise ConfigError(key, f"{storage!r}: cannot write into {folder}")


def trials_held(storage: str | None, sweep_dir: Path | str, name: str) -> int:
    """How many trials the study `name` holds, in the storage given or the sweep folder's
    study.db (0 where there is none yet); ConfigError naming hydra.sweeper.storage when the
    storage cannot be read."""
    if storage is None and not SweepDir(sweep_dir).study_file.is_file():
        return 0
    url = storage_url(storage, sweep_dir)
    quiet_optuna()
    try:
        return asked(optuna.load_study(study_name=name, storage=url))
    except KeyError:  # no study of that name yet
        return 0
    except Exception as err:  # SQLAlchemy's and Optuna's errors for a storage they cannot read
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise ConfigError("hydra.sweeper.storage", f"cannot read {url}: {first}") from None


def make_sampler(conf: Mapping[str, Any], offset: int = 0) -> optuna.samplers.BaseSampler:
    """The sampler conf names ({name, seed, the sampler's keyword arguments}), its seed plus
    offset: a reopened study's sampler starts past the trials it holds, rather than drawing
    the first ones again. ConfigError naming the key."""
    options = dict(conf)
    name = options.pop("name", "tpe")
    if name not in SAMPLERS:
        raise ConfigError(
            "hydra.sweeper.sampler.name", f"must be one of {', '.join(SAMPLERS)}; got {name!r}"
        )
    if options.get("seed") is not None:
        options["seed"] = int(options["seed"]) + offset
    quiet_optuna()
    try:
        return getattr(optuna.samplers, SAMPLERS[name])(**options)
    except (TypeError, ValueError, ImportError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise ConfigError("hydra.sweeper.sampler", f"{SAMPLERS[name]}: {first}") from None


def distribution(dim: Dimension) -> BaseDistribution:
    if dim.kind == "choice":
        return CategoricalDistribution(dim.choices)
    if dim.kind == "int":
        return IntDistribution(int(dim.low), int(dim.high), log=dim.log, step=int(dim.step or 1))
    return FloatDistribution(float(dim.low), float(dim.high), log=dim.log, step=dim.step)


def distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """Optuna's distribution of each searched key; ConfigError naming the key where Optuna
    refuses one (a log scale from 0, say), and when nothing is searched at all."""
    if not space.dimensions:
        raise ConfigError(
            "hydra.sweeper.params", "nothing to search: give a key interval(...), choice(...) "
            "or range(...)"
        )  # fmt: skip
    found = {}
    for key, dim in space.dimensions.items():
        try:
            found[key] = distribution(dim)
        except ValueError as err:
            raise ConfigError(key, str(err).splitlines()[0]) from None
    return found


def open_study(
    storage: str | None,
    sweep_dir: Path | str,
    name: str,
    direction: str,
    sampler: Mapping[str, Any],
) -> optuna.Study:
    """The study, created or reopened (load_if_exists) in the storage given or the sweep
    folder's study.db, with the sampler conf names."""
    return _open(storage, sweep_dir, name, direction, sampler)[0]


def _open(
    storage: str | None, sweep_dir: Path | str, name: str, direction: str,
    sampler: Mapping[str, Any],
) -> tuple[optuna.Study, optuna.storages.RDBStorage]:  # fmt: skip
    quiet_optuna()
    opened = _storage(storage, sweep_dir)
    study = optuna.create_study(
        storage=opened, study_name=name, direction=direction, load_if_exists=True
    )
    study.sampler = make_sampler(sampler, offset=len(study.trials))
    return study, opened


def open_search(
    storage: str | None,
    sweep_dir: Path | str,
    name: str,
    direction: str,
    sampler: Mapping[str, Any],
    pruner: Mapping[str, Any] | None,
    space: SearchSpace,
    counts: tuple[int, int, float],
) -> Search:
    """The search a sweeper runs (regexp.runs.search.Search): its study opened as open_study
    does, the pruner conf names, the space's distributions; counts: n_trials, n_jobs,
    max_failure_rate."""
    study, opened = _open(storage, sweep_dir, name, direction, sampler)
    return Search(study, opened, make_pruner(_container(pruner)), space,
                  distributions(space), *counts)  # fmt: skip


# the sweeper whose jobs are trials of its study (hydra.sweeper._target_ in a job's config)
OPTUNA_SWEEPER = "hydra_plugins.regexp_launcher.optuna_sweeper.OptunaSweeper"


def lone_trial(hydra: Any) -> TrialJobs | None:
    """The trial a job run alone is, from its Hydra config (HydraConfig: a job of regexp's
    Optuna sweeper through any launcher, its number the trial's): the study reopened from its
    storage, with the sweeper's pruner; None for any other job, or a trial the study does not
    hold RUNNING, or a study the job cannot open (a warning: the job then trains to its end,
    and the sweeper tells its trial from what it returns)."""
    sweeper = hydra.sweeper
    if OmegaConf.select(sweeper, "_target_") != OPTUNA_SWEEPER:
        return None
    quiet_optuna()
    try:
        opened = _storage(sweeper.storage, str(hydra.sweep.dir))
        study = optuna.load_study(study_name=str(sweeper.study_name), storage=opened)
        pruner = make_pruner(_container(OmegaConf.select(sweeper, "pruner")))
        trials = Trials(study, opened, pruner)
    except Exception as err:  # SQLAlchemy's and Optuna's errors for a storage out of reach
        first = (str(err).splitlines() or [type(err).__name__])[0]
        log.warning("trial %s: its study cannot be opened (%s); it is not pruned",
                    hydra.job.num, first)  # fmt: skip
        return None
    number = int(hydra.job.num)
    running = {t.number for t in unfinished(study)}
    return TrialJobs(trials, [number]) if number in running else None


def load_study(sweep_dir: Path | str) -> optuna.Study | None:
    """The study in a sweep folder's study.db (its latest, should a resume have named another);
    None when the folder has none."""
    path = SweepDir(sweep_dir).study_file
    if not path.is_file():
        return None
    quiet_optuna()
    url = storage_url(None, sweep_dir)
    names = optuna.study.get_all_study_names(url)
    return optuna.load_study(study_name=names[-1], storage=url) if names else None


def warm_up() -> None:
    """Import what opening a study's SQLite storage takes (SQLAlchemy and Alembic, which
    Optuna imports at first use), in a process that waits to read a search's study."""
    optuna.storages.RDBStorage("sqlite:///:memory:")
