"""regexp.runs.search: a search's trials asked (n_trials in all, a failure rate, trials that
wait), each trial's passes heard by its pruner on a copy of the study in memory, each trial
told as it ends with its reports written to the study; a resumed search's unfinished trials
told from their folders or run again; a trial its own job told, settled."""

import json
import math

import pytest

optuna = pytest.importorskip("optuna")

from omegaconf import OmegaConf  # noqa: E402
from optuna.distributions import FloatDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from regexp.config.search_space import search_space  # noqa: E402
from regexp.runs import study as studies  # noqa: E402
from regexp.runs.pruners import make_pruner  # noqa: E402
from regexp.runs.search import Trials  # noqa: E402

SPACE = search_space(["x=interval(0, 1)"])


def _search(tmp_path, pruner=None, n_trials=12, n_jobs=4, max_failure_rate=1.0):
    return studies.open_search(None, tmp_path, "s", "minimize", {"name": "random", "seed": 1},
                               pruner, SPACE, (n_trials, n_jobs, max_failure_rate))  # fmt: skip


def _curve(number, step):
    """Trial `number`'s validation value at `step`: curves that fall at their own rates to
    their own floors, some crossing others."""
    rate, floor = 0.02 + 0.013 * (number * 7 % 11), 0.1 * (number * 5 % 7)
    return floor + 1.0 / (1.0 + rate * step)


def _run(report, tell, ask, slots=4, last=100, every=10):
    """A program's passes: `slots` live trials, each reporting every `every` epochs, ending
    pruned or at `last`; a freed slot takes a new trial at once. Each decision, in order."""
    live = [(ask(), 0) for _ in range(slots)]
    decisions = []
    while live := [t for t in live if t[0] is not None]:
        nxt = []
        for number, epoch in live:
            epoch += every
            stop = report(number, epoch, _curve(number, epoch))
            decisions.append((number, epoch, stop))
            if stop or epoch == last:
                tell(number, stop, _curve(number, epoch))
                nxt.append((ask(), 0))
            else:
                nxt.append((number, epoch))
        live = nxt
    return decisions


def _held(study):
    return [(t.number, t.state, t.value, t.intermediate_values,
             {k: v for k, v in t.system_attrs.items() if k.startswith("completed_rung")})
            for t in study.get_trials()]  # fmt: skip


@pytest.mark.parametrize(
    "pruner",
    [
        {"name": "successive_halving", "min_resource": 10, "reduction_factor": 2},
        {"name": "successive_halving"},  # min_resource auto: from the first completed trial
        {"name": "median", "n_startup_trials": 2},
        {"name": "hyperband", "min_resource": 10, "max_resource": 100, "reduction_factor": 2},
    ],
)
def test_the_pruner_decides_on_the_copy_as_on_the_study_itself(tmp_path, pruner):
    """The same passes through a Search and through Optuna's own Trial.report/should_prune
    on a study of the same name (Hyperband hashes it with the trial numbers): the same
    decisions, and the study ends holding the same trials, values, reports and rung marks."""
    search = _search(tmp_path, pruner)
    ours = _run(search.report,
                lambda n, stop, v: search.tell(n, "pruned" if stop else "ok", v),
                lambda: getattr(search.ask(), "number", None))  # fmt: skip

    ref = optuna.create_study(study_name="s", pruner=make_pruner(pruner))
    trials = {}

    def ask():
        if len(ref.trials) == 12:
            return None
        trial = ref.ask({"x": FloatDistribution(0, 1)})
        trials[trial.number] = trial
        return trial.number

    def report(number, step, value):
        trials[number].report(value, step)
        return trials[number].should_prune()

    def tell(number, stop, value):
        ref.tell(trials[number], state=TrialState.PRUNED) if stop else ref.tell(number, value)

    theirs = _run(report, tell, ask)
    assert ours == theirs
    assert any(stop for _, _, stop in ours)  # the pruner had something to do
    stored = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert _held(stored) == _held(ref)


def test_a_search_asks_n_trials_in_all_and_waiting_trials_go_first(tmp_path):
    search = _search(tmp_path, n_trials=5, n_jobs=2)
    first = search.batch()
    assert [t.number for t in first] == [0, 1]
    assert first[0].overrides == [f"x={first[0].overrides[0].split('=')[1]}"]
    third = search.ask()
    search.defer(third)  # a program had no room for it
    assert [t.number for t in search.batch()] == [2, 3]
    assert [t.number for t in search.batch()] == [4]
    assert search.batch() == [] and search.ask() is None
    assert studies.asked(search.study) == 5


def test_no_trial_is_asked_once_too_many_failed(tmp_path, caplog):
    search = _search(tmp_path, n_trials=9, max_failure_rate=0.5)
    for value in (1.0, math.nan, math.nan):  # 2 of 3 failed
        search.tell(search.ask().number, "ok" if value == value else "failed", value)
    assert search.ask() is None and search.batch() == []
    assert "more than 0.5 of the trials failed" in caplog.text


def test_a_trial_is_told_as_its_job_ended_with_its_reports(tmp_path):
    search = _search(tmp_path, {"name": "none"})
    numbers = [search.ask().number for _ in range(4)]
    for n in numbers:
        for step in (10, 20):
            assert search.report(n, step, 1.0 / (n + step)) is False  # none never prunes
    search.tell(0, "ok", 0.5)
    search.tell(1, "pruned", math.nan)  # its value: the last it reported
    search.tell(2, "diverged", math.nan)
    search.tell(3, "ok", math.nan)  # no number: a failed trial
    search.tell(0, "ok", 0.1)  # told already (its folder written again): kept as it was
    held = {t.number: t for t in optuna.load_study(
        study_name="s", storage=studies.storage_url(None, tmp_path)).trials}  # fmt: skip
    assert [held[n].state for n in numbers] == [
        TrialState.COMPLETE,
        TrialState.PRUNED,
        TrialState.FAIL,
        TrialState.FAIL,
    ]
    assert held[0].value == 0.5 and held[1].value == 1.0 / 21
    assert held[1].intermediate_values == {10: 1.0 / 11, 20: 1.0 / 21}
    assert search.reports.trial(1).state == TrialState.PRUNED  # the pruner sees it ended


def _job(folder, status, value):
    folder.mkdir(parents=True)
    (folder / ".hydra").mkdir()
    (folder / ".hydra" / "config.yaml").write_text("objective: auto\n")
    (folder / "weights.safetensors").write_bytes(b"w")
    metrics = {"status": status, "val_mse": value}
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_a_resumed_search_tells_the_trials_whose_folders_are_done_and_runs_the_rest(tmp_path):
    """An interrupt left four trials RUNNING: two whose folders were written (ok, pruned:
    told as they say), one half written (removed, run again first), one never started."""
    search = _search(tmp_path, n_trials=6, n_jobs=3)
    for _ in range(4):
        search.ask()
    search.report(1, 10, 0.7)
    _job(tmp_path / "0", "ok", 0.25)
    _job(tmp_path / "1", "pruned", 0.7)
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "history.csv").write_text("epoch\n1\n")

    again = _search(tmp_path, n_trials=6, n_jobs=3)
    again.resume(lambda trial: tmp_path / str(trial.number), tmp_path)
    states = [t.state for t in again.study.get_trials()]
    assert states[:2] == [TrialState.COMPLETE, TrialState.PRUNED]
    assert again.study.trials[0].value == 0.25
    assert not (tmp_path / "2").exists()
    assert again.left() == 4  # of 6: two told
    assert [t.number for t in again.batch()] == [2, 3, 4]  # run again, then a new one
    assert again.running([0, 1, 2, 3, 4]) == [2, 3, 4]


def test_a_trial_its_job_told_is_settled_as_told_and_the_pruner_sees_it(tmp_path):
    search = _search(tmp_path, {"name": "median", "n_startup_trials": 1})
    numbers = [search.ask().number for _ in range(3)]
    job = Trials(optuna.load_study(study_name="s", storage=studies.storage_url(None, tmp_path)),
                 search.storage, make_pruner({"name": "median"}))  # fmt: skip
    job.report(0, 10, 0.2)
    job.tell(0, "ok", 0.2)  # the job alone, in its own process
    assert search.settle(0, 0.2) == "ok"
    assert search.reports.trial(0).intermediate_values == {10: 0.2}
    assert search.report(2, 10, 0.9) is True  # worse than trial 0's median at step 10
    assert search.settle(1, None) == "failed"  # its job failed before it could tell
    assert search.settle(1, 0.1) == "failed"  # told already
    assert [t.state for t in search.study.trials][:2] == [TrialState.COMPLETE, TrialState.FAIL]
    assert numbers == [0, 1, 2]


def _hydra(tmp_path, num, target=studies.OPTUNA_SWEEPER):
    return OmegaConf.create({
        "sweeper": {"_target_": target, "storage": None, "study_name": "s",
                    "pruner": {"name": "successive_halving", "min_resource": 10}},
        "sweep": {"dir": str(tmp_path)}, "job": {"num": num},
    })  # fmt: skip


def test_a_job_of_the_sweeper_is_its_trial(tmp_path):
    search = _search(tmp_path)
    search.ask()
    search.ask()
    search.tell(0, "ok", 0.3)
    trial = studies.lone_trial(_hydra(tmp_path, 1))
    assert trial.numbers == [1] and trial.load is None and trial.trials.ask() is None
    assert type(trial.trials.reports.pruner) is optuna.pruners.SuccessiveHalvingPruner
    assert studies.lone_trial(_hydra(tmp_path, 0)) is None  # told: no trial to run
    assert studies.lone_trial(_hydra(tmp_path, 1, "hydra_plugins.x.Other")) is None
    assert studies.lone_trial(_hydra(tmp_path / "elsewhere", 1)) is None  # no study there
