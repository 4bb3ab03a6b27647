"""regexp.system.signals: SIGTERM raised as Terminated (a KeyboardInterrupt) while a run or
sweep runs, the shell's exit codes, helper processes leaving interrupts to their owner."""

import os
import signal

import pytest

from regexp.system.signals import Terminated, exit_code, ignore_interrupts, terminate_as_interrupt


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


def test_a_helper_process_ignores_both(monkeypatch):
    set_to = {}
    monkeypatch.setattr(signal, "signal", lambda sig, handler: set_to.update({sig: handler}))
    ignore_interrupts()
    assert set_to == {signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: signal.SIG_IGN}
