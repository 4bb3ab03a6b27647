"""regexp.system.signals: SIGTERM raised as Terminated (a KeyboardInterrupt) while a run or
sweep runs, the shell's exit codes, helper processes leaving interrupts to their owner."""

import os
import signal
import subprocess
import sys

import pytest

from regexp.system.signals import Terminated, exit_code, terminate_as_interrupt


def test_sigterm_raises_terminated_inside_the_block_only():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 1)  # let the handler run
    assert signal.getsignal(signal.SIGTERM) == before


def test_exit_codes_are_128_plus_the_signal():
    assert exit_code(KeyboardInterrupt()) == 130
    assert exit_code(Terminated()) == 143
    assert isinstance(Terminated(), KeyboardInterrupt)


def test_a_helper_process_ignores_both():
    """In a process of its own: the signals it sends itself must not stop it."""
    code = (
        "import os, signal, time; from regexp.system.signals import ignore_interrupts;"
        "ignore_interrupts(); os.kill(os.getpid(), signal.SIGINT);"
        "os.kill(os.getpid(), signal.SIGTERM); time.sleep(0.1); print('still here')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "still here\n"), done.stderr
