"""regexp.runs.write: a trained job's folder, metrics.json last; figures drawn in a pool come
before it, and a pool that breaks leaves the drawing to the writer."""

import json

from regexp.config.settings import validate
from regexp.figures.pool import draw
from regexp.runs.group import train_group
from regexp.runs.write import write_run


class _Deferred:
    """A figure pool that draws what it was given only when told to, or fails it with `fail`."""

    def __init__(self, fail: BaseException | None = None):
        self.calls: list = []
        self.fail = fail

    def draw(self, specs, done) -> None:
        self.calls.append((specs, done))

    def run(self) -> None:
        for specs, done in self.calls:
            if self.fail is not None:
                done(self.fail)
                continue
            try:
                draw(specs)
            except Exception as err:
                done(err)
            else:
                done(None)


PLOTS = ["history.png", "layers.png", "activations_layer0.png", "fit.npz"]  # fit: for summary.png


def _written(out, cfg, pool):
    """A group of one trained, its folder written with the figures sent to `pool`."""
    settings = validate(cfg)
    [trained] = train_group([settings])
    return write_run(out, settings, trained, pool=pool)


def test_plots_drawn_in_a_pool_come_before_metrics_json(tmp_path, cfg_of):
    pool = _Deferred()
    cfg = cfg_of("hidden_units=[4]", "plots.enabled=true", epochs=5)
    _written(tmp_path, cfg, pool)
    assert (tmp_path / "weights.safetensors").is_file()
    assert not (tmp_path / "metrics.json").exists()  # not complete until its plots are
    pool.run()
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(PLOTS)
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "ok"


def test_a_plot_failing_in_the_pool_fails_its_job_only(tmp_path, cfg_of, monkeypatch):
    from regexp.figures import draw as plots

    def broken(*args, **kwargs):
        raise ValueError("injected plot fault")

    monkeypatch.setattr(plots, "plot_history", broken)
    pool = _Deferred()
    _written(tmp_path, cfg_of("hidden_units=[4]", "plots.enabled=true", epochs=5), pool)
    pool.run()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "failed"
    assert metrics["error"] == "ValueError: injected plot fault"
    assert metrics["val_mse"] > 0 and (tmp_path / "history.csv").is_file()


def test_a_dead_plot_process_leaves_the_drawing_to_the_launcher(tmp_path, cfg_of):
    from concurrent.futures.process import BrokenProcessPool

    pool = _Deferred(fail=BrokenProcessPool("a worker died"))
    _written(tmp_path, cfg_of("hidden_units=[4]", "plots.enabled=true", epochs=5), pool)
    pool.run()
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "ok"
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(PLOTS)


def test_a_pool_broken_before_the_job_leaves_its_drawing_to_the_launcher(tmp_path, cfg_of):
    from concurrent.futures.process import BrokenProcessPool

    class Broken(_Deferred):
        def draw(self, specs, done) -> None:
            raise BrokenProcessPool("a worker died on an earlier job")

    cfg = cfg_of("hidden_units=[4]", "plots.enabled=true", epochs=5)
    metrics = _written(tmp_path, cfg, Broken())
    assert metrics["status"] == "ok"
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "ok"
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(PLOTS)


def test_early_stopping_writes_its_epochs_and_a_history_that_ends_there(tmp_path, cfg_of):
    from regexp.train.history import History

    es = ("optimizer.lr=0.03", "train.eval_every=5", "train.early_stopping.patience=10",
          "plots.enabled=false")  # fmt: skip
    m = _written(tmp_path / "es", cfg_of(*es, epochs=400), pool=None)
    on_disk = json.loads((tmp_path / "es" / "metrics.json").read_text())
    assert on_disk["stopped_epoch"] == m["stopped_epoch"] == m["epochs"] < 400
    assert on_disk["best_epoch"] == m["stopped_epoch"] - 10
    history = History.from_csv((tmp_path / "es" / "history.csv").read_text())
    assert list(history["epoch"]) == list(range(1, m["stopped_epoch"] + 1))
    off = _written(tmp_path / "off", cfg_of("plots.enabled=false", epochs=20), pool=None)
    assert "stopped_epoch" not in off and "best_epoch" not in off
