"""regexp.config.output: where outputs go, and folders claimed uniquely."""

from datetime import datetime

from regexp.config.output import claim, claim_dir, output_root


def test_runs_in_the_same_second_get_distinct_folders(tmp_path):
    now = datetime(2026, 1, 2, 3, 4, 5)
    folders = {claim_dir(tmp_path, now) for _ in range(5)}
    assert sorted(p.name for p in folders) == [
        "03-04-05",
        "03-04-05-1",
        "03-04-05-2",
        "03-04-05-3",
        "03-04-05-4",
    ]
    assert all(p.parent == tmp_path / "2026-01-02" for p in folders)


def test_claim_keeps_a_free_name_and_suffixes_a_taken_one(tmp_path):
    assert claim(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert claim(tmp_path / "a" / "b") == tmp_path / "a" / "b-1"


def test_output_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("REGEXP_OUTPUTS", raising=False)
    assert str(output_root()) == "outputs"
    monkeypatch.setenv("REGEXP_OUTPUTS", str(tmp_path))
    assert output_root() == tmp_path
