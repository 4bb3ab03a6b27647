"""regexp.runs.made_by: each run's metrics.json says how it was made."""

import json
import subprocess
import sys
from pathlib import Path

import regexp
from regexp.runs import made_by
from regexp.system.command import COMMAND_ENV


def test_the_record_names_the_command_code_packages_and_machine(monkeypatch):
    monkeypatch.setenv(COMMAND_ENV, "regexp run seed=3")
    made = made_by.made_by("cpu")
    assert made["command"] == "regexp run seed=3"
    assert made["regexp"] and made["python"] == ".".join(map(str, sys.version_info[:3]))
    for package in ("torch", "hydra", "numpy"):
        assert made[package], package
    assert made["host"] and made["device_name"]
    checkout = Path(regexp.__file__).resolve().parents[1]  # where this regexp runs from

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", checkout, *args], capture_output=True, text=True)

    head = git("rev-parse", "HEAD")
    if head.returncode == 0:  # run from a checkout: its commit, and whether it is dirty
        assert made["git_commit"] == head.stdout.strip()
        changed = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        assert made["git_dirty"] is bool(changed)
    else:
        assert made["git_commit"] is None and made["git_dirty"] is None


def test_without_the_regexp_command_the_process_command_line_counts(monkeypatch):
    monkeypatch.delenv(COMMAND_ENV, raising=False)
    assert made_by.made_by("cpu")["command"].split()[0] == sys.argv[0].split()[0]


def test_a_runs_metrics_json_holds_its_record(tmp_path, cfg_of, monkeypatch):
    from regexp.runs import job

    monkeypatch.setenv(COMMAND_ENV, "regexp run train.epochs=3")
    job.run_in(tmp_path, cfg_of("hidden_units=[3]", epochs=3))
    made = json.loads((tmp_path / "metrics.json").read_text())["made_by"]
    assert made["command"] == "regexp run train.epochs=3" and made["device_name"]
