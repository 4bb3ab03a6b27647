"""regexp.runs.write: a trained job's folder in two steps. Its numbers, weights and
metrics.json first (figures marked not drawn); then its figures, drawn here or in a pool,
after which metrics.json loses the mark. A figure that fails fails its job only; a pool
that breaks leaves the drawing to the writer; a cancelled drawing keeps the mark."""

import json
import subprocess
import sys
from concurrent.futures import CancelledError

from regexp.config.settings import validate
from regexp.runs.layout import NOT_DRAWN
from regexp.runs.run_unit import train
from regexp.runs.write import finish_figures, write_numbers


class _Deferred:
    """A process pool that runs what it was given only when told to, or fails it with
    `fail`."""

    def __init__(self, fail: BaseException | None = None):
        self.calls: list = []
        self.fail = fail

    def submit(self, fn, *args, done) -> None:
        self.calls.append((fn, args, done))

    def run(self) -> None:
        for fn, args, done in self.calls:
            if self.fail is not None:
                done(self.fail)
                continue
            try:
                fn(*args)
            except Exception as err:
                done(err)
            else:
                done(None)


PLOTS = ["history.png", "layers.png", "activations_layer0.png", "fit.npz"]  # fit: for summary.png


def _metrics(out):
    return json.loads((out / "metrics.json").read_text())


def _written(out, cfg):
    """A program of one trained, its numbers written."""
    settings = validate(cfg)
    [trained] = train([settings])
    return write_numbers(out, settings, trained)


def test_numbers_first_then_figures_in_a_pool_then_metrics_without_the_mark(tmp_path, cfg_of):
    written = _written(tmp_path, cfg_of("hidden_units=[4]", "plots.enabled=true", epochs=5))
    assert (tmp_path / "weights.safetensors").is_file()
    assert _metrics(tmp_path)["status"] == "ok"  # a result as soon as it is trained
    assert _metrics(tmp_path)["figures"] == NOT_DRAWN
    assert not (tmp_path / "plots").exists()
    pool, drawn = _Deferred(), []
    finish_figures(written, pool, lambda: drawn.append(1))
    assert len(pool.calls) == 1 and drawn == []
    pool.run()
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(PLOTS)
    assert _metrics(tmp_path)["status"] == "ok" and "figures" not in _metrics(tmp_path)
    assert drawn == [1]


def test_a_process_that_hands_its_figures_to_a_pool_never_imports_matplotlib(tmp_path):
    """The training process names the drawing for the pool's processes: importing matplotlib
    there would cost it half a second of CPU while its jobs wait to be written."""
    child = f"""
import sys
from pathlib import Path
from regexp.config.compose import compose
from regexp.config.settings import validate
from regexp.runs.run_unit import train
from regexp.runs.write import finish_figures, write_numbers
from regexp.system.pools import ProcessPool

settings = validate(compose(["train.epochs=5", "hidden_units=[4]", "plots.enabled=true"]))
[trained] = train([settings])
with ProcessPool(1) as pool:
    finish_figures(write_numbers(Path({str(tmp_path)!r}), settings, trained), pool)
print("matplotlib" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
    assert done.stdout.split() == ["False"], done.stderr
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(PLOTS)
    assert "figures" not in _metrics(tmp_path)


def test_without_plots_the_numbers_are_the_whole_folder(tmp_path, cfg_of):
    written = _written(tmp_path, cfg_of("hidden_units=[4]", epochs=5))
    assert written.specs is None and "figures" not in _metrics(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "history.csv", "metrics.json", "weights.safetensors"
    ]  # fmt: skip


def test_a_plot_failing_in_the_pool_fails_its_job_only(tmp_path, cfg_of, monkeypatch):
    from regexp.figures import draw as plots

    def broken(*args, **kwargs):
        raise ValueError("injected plot fault")

    monkeypatch.setitem(plots.FIGURES, "plot_history", broken)
    written = _written(tmp_path, cfg_of("hidden_units=[4]", "plots.enabled=true", epochs=5))
    pool = _Deferred()
    finish_figures(written, pool)
    pool.run()
    metrics = _metrics(tmp_path)
    assert metrics["status"] == "failed"
    assert metrics["error"] == "ValueError: injected plot fault"
    assert metrics["val_mse"] > 0 and (tmp_path / "history.csv").is_file()


def test_a_dead_plot_process_leaves_the_drawing_to_the_writer(tmp_path, cfg_of):
    from concurrent.futures.process import BrokenProcessPool

    written = _written(tmp_path, cfg_of("hidden_units=[4]", "plots.enabled=true", epochs=5))
    pool = _Deferred(fail=BrokenProcessPool("a worker died"))
    finish_figures(written, pool)
    pool.run()
    assert _metrics(tmp_path)["status"] == "ok" and "figures" not in _metrics(tmp_path)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(PLOTS)


def test_a_pool_broken_before_the_job_leaves_its_drawing_to_the_writer(tmp_path, cfg_of):
    from concurrent.futures.process import BrokenProcessPool

    class Broken(_Deferred):
        def submit(self, fn, *args, done) -> None:
            raise BrokenProcessPool("a worker died on an earlier job")

    written = _written(tmp_path, cfg_of("hidden_units=[4]", "plots.enabled=true", epochs=5))
    finish_figures(written, Broken())
    assert _metrics(tmp_path)["status"] == "ok" and "figures" not in _metrics(tmp_path)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(PLOTS)


def test_a_cancelled_drawing_keeps_the_job_ok_with_its_figures_marked(tmp_path, cfg_of):
    written = _written(tmp_path, cfg_of("hidden_units=[4]", "plots.enabled=true", epochs=5))
    pool = _Deferred(fail=CancelledError())
    finish_figures(written, pool)
    pool.run()
    assert _metrics(tmp_path)["status"] == "ok"
    assert _metrics(tmp_path)["figures"] == NOT_DRAWN  # regexp sweep --resume draws them


def test_early_stopping_writes_its_epochs_and_a_history_that_ends_there(tmp_path, cfg_of):
    from regexp.train.history import History

    es = ("optimizer.lr=0.03", "train.eval_every=5", "train.early_stopping.patience=10",
          "plots.enabled=false")  # fmt: skip
    m = _written(tmp_path / "es", cfg_of(*es, epochs=400)).metrics
    on_disk = json.loads((tmp_path / "es" / "metrics.json").read_text())
    assert on_disk["stopped_epoch"] == m["stopped_epoch"] == m["epochs"] < 400
    assert on_disk["best_epoch"] == m["stopped_epoch"] - 10
    history = History.from_csv((tmp_path / "es" / "history.csv").read_text())
    assert list(history["epoch"]) == list(range(1, m["stopped_epoch"] + 1))
    off = _written(tmp_path / "off", cfg_of("plots.enabled=false", epochs=20)).metrics
    assert "stopped_epoch" not in off and "best_epoch" not in off
