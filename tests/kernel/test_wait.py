"""Wait queues and timed sleeps (kernel/wait.py): wake-ups take a task off every queue, a
deadline survives restarts, and an idle machine's virtual time jumps to the next deadline."""

from __future__ import annotations

from emulator.kernel.process import MmStruct, Task, processes
from emulator.kernel.wait import (
    WaitQueueHead,
    add_wait_queue,
    finish_wait,
    idle_until_wakeup,
    prepare_to_wait_event,
    schedule_timeout,
    set_signal_pending_hook,
    task_deadline,
    wait_state,
    wake_up,
)


def _task(kernel, pid: int) -> Task:
    task = Task(pid, f"t{pid}", MmStruct(pgd=0), state="running")
    processes(kernel).tasks[pid] = task
    return task


def test_wake_up_makes_sleepers_runnable_and_removes_them_from_every_queue(kernel):
    a, b = WaitQueueHead("a"), WaitQueueHead("b")
    t = _task(kernel, 50)
    add_wait_queue(a, t)
    add_wait_queue(b, t)
    add_wait_queue(a, t)  # once per queue
    assert a.tasks == [t] and b.tasks == [t]
    schedule_timeout(t, None)
    assert t.state == "waiting"
    wake_up(a)
    assert t.state == "runnable" and processes(kernel).runqueue[-1] is t
    assert not a.tasks and not b.tasks  # finish_wait for all of them
    wake_up(b)  # nothing left to wake: no second runqueue entry
    assert processes(kernel).runqueue.count(t) == 1


def test_a_deadline_is_kept_across_restarts_and_the_timer_wakes_the_task(kernel):
    t = _task(kernel, 51)
    clock = kernel.machine.clock
    start = clock.now()
    deadline = task_deadline(t, 5_000_000)
    assert deadline == start + 5_000_000
    assert task_deadline(t, 99_000_000) == deadline  # the restarted call keeps its deadline
    schedule_timeout(t, deadline)
    schedule_timeout(t, deadline)  # (a restart re-arms nothing)
    assert len(wait_state(kernel).timers) == 1
    assert idle_until_wakeup(kernel)  # virtual time jumps to the deadline
    assert clock.now() >= deadline and t.state == "runnable"
    finish_wait(t)
    assert task_deadline(t, None) is None and not wait_state(kernel).timers


def test_idle_without_anything_armed_reports_it(kernel):
    assert not idle_until_wakeup(kernel)


def test_a_pending_signal_interrupts_the_sleep(kernel):
    t = _task(kernel, 52)
    assert prepare_to_wait_event(t) == 0
    set_signal_pending_hook(lambda task: task.pid == 52)
    task_deadline(t, 1000)
    assert prepare_to_wait_event(t) == -4  # -EINTR, and the wait is over
    assert t.pid not in wait_state(kernel).deadlines
