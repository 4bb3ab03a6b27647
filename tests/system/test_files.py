"""regexp.system.files.write_atomic: a file replaced whole or left as it was, in a folder made
when missing, with the mode any new file gets; a failed write leaves no temp file."""

import os

import pytest

from regexp.system import files
from regexp.system.files import write_atomic


def test_files_are_replaced_whole_in_a_folder_made_when_missing(tmp_path):
    path = tmp_path / "sub" / "x.png"
    write_atomic(path, b"first")
    write_atomic(path, "second")  # text is written as UTF-8
    assert path.read_bytes() == b"second"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(path.parent) == ["x.png"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    write_atomic(path, "old")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, "new")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["metrics.json"]
