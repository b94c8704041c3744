"""The pending set (kernel/signal.c): standard signals coalesce, blocked ones wait, fault
signals are taken before the rest, the others lowest first, and ignored signals are never
queued — whatever is sent in whatever order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from emulator.kernel.process import MmStruct, Task
from emulator.kernel.signal import (
    SIG_IGN,
    SIG_KERNEL_IGNORE_MASK,
    SYNCHRONOUS_MASK,
    KSigaction,
    dequeue_signal,
    send_signal,
    siginfo_kill,
    sigmask,
)

signals = st.integers(min_value=1, max_value=64)


def _task() -> Task:
    return Task(pid=2, comm="t", mm=MmStruct(pgd=0))


@given(sent=st.lists(signals, max_size=40), blocked=st.sets(signals), ignored=st.sets(signals))
def test_dequeue_takes_each_unblocked_unignored_signal_once_faults_first(sent, blocked, ignored):
    task = _task()
    task.blocked = sum(sigmask(s) for s in blocked)
    task.sighand = {s: KSigaction(SIG_IGN) for s in ignored}
    for sig in sent:
        send_signal(None, sig, task, siginfo_kill(sig, 0, 7))  # type: ignore[arg-type]
    got = []
    while (item := dequeue_signal(task, ~task.blocked & ((1 << 64) - 1))) is not None:
        sig, info = item
        assert int.from_bytes(info[:4], "little") == sig
        got.append(sig)
    default_ignored = {s for s in range(1, 65) if sigmask(s) & SIG_KERNEL_IGNORE_MASK}
    queued = {s for s in sent if s in blocked or s not in ignored | default_ignored}
    expect = sorted(queued - blocked, key=lambda s: (not sigmask(s) & SYNCHRONOUS_MASK, s))
    assert got == expect
    assert task.pending == sum(sigmask(s) for s in queued & blocked)
