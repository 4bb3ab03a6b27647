"""exit_now: an exit without the interpreter's teardown still does what an exit must."""

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = """
import atexit, logging, multiprocessing, sys, threading, time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from regexp.system.exit import exit_now

out = Path(sys.argv[1])
if __name__ == "__main__":
    atexit.register(lambda: (out / "atexit").write_text("ran"))
    logging.basicConfig(filename=out / "log.txt", level=logging.INFO)
    logging.getLogger("t").info("logged")
    def late():
        time.sleep(0.3)
        (out / "thread").write_text("joined")
    threading.Thread(target=late).start()  # non-daemon: an exit waits for it
    ThreadPoolExecutor(1).submit(lambda: (time.sleep(0.3), (out / "pool").write_text("done")))
    # worker processes that would keep the caller's stdout open if left behind
    ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")).submit(abs, -1).result()
    sys.stdout.write("no newline at the end")
    exit_now(3)
"""


def test_exit_now_does_what_an_exit_must(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    # capture_output waits for every holder of the pipe: a left-behind worker would hang it
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout == "no newline at the end"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "pool").read_text() == "done"
    assert "logged" in (tmp_path / "log.txt").read_text()
