"""`regexp sweep` end to end in a subprocess, as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REGEXP = [sys.executable, "-m", "regexp.cli"]
FAST = ["train.epochs=30", "plots.enabled=false"]


def sweep(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*REGEXP, "sweep", *args], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )


def the_sweep(tmp_path: Path) -> Path:
    (folder,) = list((tmp_path / "outputs" / "multirun").glob("*/*"))
    return folder


@pytest.mark.slow
def test_three_widths_give_three_folders_and_a_three_row_summary(tmp_path):
    done = sweep(tmp_path, "hidden_units=[2],[8],[1024]", *FAST)
    assert done.returncode == 0, done.stderr
    folder = the_sweep(tmp_path)
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["0", "1", "2"]
    for job in ("0", "1", "2"):
        assert (folder / job / "metrics.json").is_file()
        assert (folder / job / "weights.safetensors").is_file()
        assert (folder / job / ".hydra" / "overrides.yaml").is_file()
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary["job"]) == [0, 1, 2]
    assert list(summary["hidden_units"]) == ["[2]", "[8]", "[1024]"]
    assert list(summary["status"]) == ["ok"] * 3
    assert list(summary["n_params"]) == [3 * 2 + 1, 3 * 8 + 1, 3 * 1024 + 1]
    assert (summary["val_mse"] > 0).all()
    md = (folder / "summary.md").read_text()
    assert md.count("\n| ") >= 3 and "[1024]" in md
    assert "3 of 3 jobs" in done.stdout
    # off a terminal, the sweep's progress: one line per 10 % of its jobs, on stderr
    # [2] and [8] as one program, [1024] as another (regexp.runs.buckets)
    assert "Launching 3 jobs: 2 stacked programs, 0 jobs alone (batched)" in done.stdout
    assert "sweep: job 3 of 3 (100 %), 2 of 2 programs trained" in done.stderr
    assert "sweep: job" not in (folder / "0" / "regexp.log").read_text()


@pytest.mark.slow
def test_a_diverging_job_keeps_every_other_row_and_fails_the_sweep(tmp_path):
    done = sweep(
        tmp_path, "optimizer=sgd", "optimizer.lr=0.05,1e6,0.01", "hidden_units=[32,32]", *FAST
    )
    assert done.returncode == 1
    summary = pd.read_csv(the_sweep(tmp_path) / "summary.csv")
    assert list(summary["status"]) == ["ok", "diverged", "ok"]
    assert summary.loc[[0, 2], "val_mse"].notna().all()
    assert "1 job(s) not ok" in done.stdout


def test_unbracketed_widths_get_a_clear_error(tmp_path):
    done = sweep(tmp_path, "hidden_units=2,8")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "regexp: error: job 0 (hidden_units=2): hidden_units: must be a list of positive "
        "integers such as [16] or [16,16] ([] for a linear model), got 2; to sweep over "
        "widths write hidden_units=[2],[8]"
    ]
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow
def test_batched_default_matches_hydras_basic_launcher(tmp_path):
    args = ["seed=1,2,3", "hidden_units=[4]", "penalty=l2", "penalty.lam=0.01,0.001", *FAST]
    for launcher in ("batched", "basic"):
        done = sweep(
            tmp_path, *args, f"hydra/launcher={launcher}", f"hydra.sweep.dir=outputs/{launcher}"
        )
        assert done.returncode == 0, done.stderr
        if launcher == "batched":
            assert "sweep: job 6 of 6 (100 %), 1 of 1 programs trained" in done.stderr
    batched = pd.read_csv(tmp_path / "outputs" / "batched" / "summary.csv")
    basic = pd.read_csv(tmp_path / "outputs" / "basic" / "summary.csv")
    assert len(batched) == len(basic) == 6
    for col in ("train_mse", "val_mse", "train_loss", "penalty"):
        assert batched[col].to_numpy() == pytest.approx(basic[col].to_numpy(), rel=1e-4)
    import json

    jobs = sorted((tmp_path / "outputs" / "batched").glob("*/metrics.json"))
    assert [json.loads(p.read_text()).get("batched") for p in jobs] == [6] * 6
    # the launcher's fast job configs equal Hydra's own, file for file
    import yaml

    for job in range(6):
        ours = tmp_path / "outputs" / "batched" / str(job) / ".hydra"
        hydra = tmp_path / "outputs" / "basic" / str(job) / ".hydra"
        for name in ("config.yaml", "overrides.yaml"):
            assert (ours / name).read_text() == (hydra / name).read_text(), (job, name)
        a = yaml.safe_load((ours / "hydra.yaml").read_text())["hydra"]
        b = yaml.safe_load((hydra / "hydra.yaml").read_text())["hydra"]
        assert a["job"]["num"] == b["job"]["num"] == job
        assert a["runtime"]["output_dir"] == str((ours / "..").resolve())
        # all else equal but what names the launcher and the sweep folder
        for tree in (a, b):
            del tree["launcher"], tree["sweep"], tree["runtime"]["output_dir"]
            del tree["runtime"]["choices"]["hydra/launcher"], tree["overrides"]["hydra"]
        assert a == b


@pytest.mark.slow
def test_batched_jobs_still_reach_hydra_callbacks(tmp_path):
    """With a callback configured, a trained group's folders go through Hydra's run_job."""
    callback = "hydra.experimental.callbacks.LogJobReturnCallback"
    done = sweep(
        tmp_path, "seed=1,2", "hidden_units=[4]", f"+hydra.callbacks.log._target_={callback}", *FAST
    )
    assert done.returncode == 0, done.stderr
    folder = the_sweep(tmp_path)
    for job in ("0", "1"):
        log_text = (folder / job / "regexp.log").read_text()
        assert "Succeeded with return value" in log_text, log_text
        assert json.loads((folder / job / "metrics.json").read_text())["batched"] == 2


@pytest.mark.slow
def test_a_batched_group_draws_every_jobs_plots(tmp_path):
    """Four jobs with plots: drawn in the sweep's pool of processes, metrics.json last, and
    all of them written before the sweep's ending (in the pool too) reads them."""
    done = sweep(tmp_path, "seed=1,2,3,4", "hidden_units=[4]", "train.epochs=30")
    assert done.returncode == 0, done.stderr
    folder = the_sweep(tmp_path)
    for job in "0123":
        metrics = json.loads((folder / job / "metrics.json").read_text())
        assert metrics["status"] == "ok" and metrics["batched"] == 4
        names = sorted(p.name for p in (folder / job / "plots").iterdir())
        # fit.npz: the fitted function, overlaid by the sweep's summary.png
        assert names == ["activations_layer0.png", "fit.npz", "history.png", "layers.png"]
        pngs = [n for n in names if n.endswith(".png")]
        for png in pngs:
            data = (folder / job / "plots" / png).read_bytes()
            assert data.startswith(b"\x89PNG") and len(data) > 2_000, (job, png, len(data))
    for name in ("summary.png", "report.html"):
        assert (folder / name).stat().st_size > 5_000, name
    assert list(pd.read_csv(folder / "summary.csv")["status"]) == ["ok"] * 4
