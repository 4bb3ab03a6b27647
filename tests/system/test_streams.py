"""regexp.system.streams: once stdout's reader has gone, the rest of the output goes to
/dev/null and the writer goes on; before that, it is the stream's."""

import subprocess
import sys


def test_a_closed_pipe_silences_the_output_and_the_process_goes_on(tmp_path):
    """The child writes a line, its reader closes the pipe, then it writes more and leaves a
    file behind: no BrokenPipeError, exit code 0."""
    child = (
        "import sys, time; from regexp.system.streams import quiet_stdout; quiet_stdout(); "
        "print('first', flush=True); time.sleep(0.5); "
        "[print('more', i, flush=True) for i in range(1000)]; "
        f"open({str(tmp_path / 'done')!r}, 'w').write('yes')"
    )
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout.readline() == b"first\n"
    proc.stdout.close()  # the reader goes away, as `| head -1` does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert b"BrokenPipe" not in err and (tmp_path / "done").read_text() == "yes"


def test_until_then_it_is_the_streams(capfd):
    from regexp.system.streams import QuietPipe

    quiet = QuietPipe(sys.stdout)
    quiet.write("hello\n")
    quiet.flush()
    assert capfd.readouterr().out == "hello\n"
    assert quiet.isatty() == sys.stdout.isatty()  # what rich and logging ask: the stream's
