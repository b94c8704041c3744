"""Wait queues and timed sleeps (kernel/sched/wait.c, include/linux/wait.h, kernel/time/timer.c
schedule_timeout, include/linux/poll.h poll_wait).

Design: a task that cannot go on sleeps on one or more `WaitQueueHead`s and its system call
returns `RESTART`; the arch entry code rewinds the PC so the call runs again from the start
once the task is woken. Whoever makes progress possible (a pipe end moving, console input
arriving, a timer expiring) calls `wake_up(wq)`, which makes every sleeper runnable and takes
it off all the queues it was on. A woken call simply re-checks its condition, so a spurious
wake-up is harmless — the same contract as Linux's `wait_event()` loop.

Timed sleeps keep their absolute deadline on the task across restarts (`task_deadline`), as
Linux keeps the remaining time in the restart block: `schedule_timeout` arms a virtual-time
event that wakes the task at the deadline. When every task is asleep, the scheduler calls
`idle_until_wakeup`, which lets virtual time jump to the next armed deadline (the CPU idles,
as `wfi`/`hlt` would) — never to host time.

All blocking waits go through `prepare_to_wait_event`, which is where an interruptible sleep
gives up with -EINTR when the task has a signal pending (`signal_pending`, a hook the signal
layer fills).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.kernel.core import current_kernel

if TYPE_CHECKING:
    from emulator.clock import Event
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task

EINTR = 4
IDLE_HOST_WAIT_S = 0.05
IDLE_POLL_LIMIT_NS = 60 * 1_000_000_000
ERESTARTNOHAND = 514  # what Linux's poll/select return on a signal (-EINTR for the user)


@dataclass(eq=False)
class WaitQueueHead:
    """wait_queue_head_t: the tasks asleep on one event source, in arrival order."""

    name: str = ""
    tasks: list[Task] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"WaitQueueHead({self.name!r}, {len(self.tasks)} waiting)"


@dataclass
class WaitState:
    """Per-kernel bookkeeping: the queues each sleeping task is on, deadlines and timers."""

    queues: dict[int, list[WaitQueueHead]] = field(default_factory=dict)  # pid → queues
    deadlines: dict[int, int] = field(default_factory=dict)  # pid → absolute ns
    timers: dict[int, Event] = field(default_factory=dict)  # pid → armed wake-up
    pollers: int = 0  # armed device pollers a sleeper waits on (the console's input poll)
    progress: dict[int, tuple[object, int]] = field(default_factory=dict)  # pid → call, count
    idle_since: int | None = None  # when every task began sleeping on pollers alone
    signal_pending: Callable[[Task], bool] = lambda task: False


def wait_state(kernel: Kernel | None = None) -> WaitState:
    k = kernel or current_kernel()
    state = k.subsystems.get("wait")
    if not isinstance(state, WaitState):
        state = k.subsystems["wait"] = WaitState()
    return state


def set_signal_pending_hook(fn: Callable[[Task], bool], kernel: Kernel | None = None) -> None:
    """The signal layer says whether a task has an unblocked signal pending (signal_pending())."""
    wait_state(kernel).signal_pending = fn


def signal_pending(task: Task, kernel: Kernel | None = None) -> bool:
    return wait_state(kernel).signal_pending(task)


def add_wait_queue(wq: WaitQueueHead, task: Task, kernel: Kernel | None = None) -> None:
    if task not in wq.tasks:
        wq.tasks.append(task)
        wait_state(kernel).queues.setdefault(task.pid, []).append(wq)


def remove_wait_queues(task: Task, kernel: Kernel | None = None) -> None:
    """finish_wait() for every queue the task was put on."""
    for wq in wait_state(kernel).queues.pop(task.pid, []):
        if task in wq.tasks:
            wq.tasks.remove(task)


def wake_up_process(task: Task, kernel: Kernel | None = None) -> None:
    """try_to_wake_up(): a sleeping task becomes runnable (off every queue)."""
    from emulator.kernel.process import processes

    k = kernel or current_kernel()
    remove_wait_queues(task, k)
    wait_state(k).idle_since = None
    if task.state == "waiting":
        task.state = "runnable"
        processes(k).runqueue.append(task)


def wake_up(wq: WaitQueueHead, kernel: Kernel | None = None) -> None:
    """wake_up_interruptible_all(): every task asleep on `wq` becomes runnable."""
    for task in list(wq.tasks):
        wake_up_process(task, kernel)
    wq.tasks.clear()


def waitqueue_active(wq: WaitQueueHead) -> bool:
    return bool(wq.tasks)


# -- timed and interruptible sleeps -------------------------------------------------------------


def task_deadline(task: Task, timeout_ns: int | None, kernel: Kernel | None = None) -> int | None:
    """The absolute deadline of the task's current timed wait: set on the first attempt from
    `timeout_ns` (None: no timeout), kept across restarts of the same call."""
    state = wait_state(kernel)
    if task.pid in state.deadlines:
        return state.deadlines[task.pid]
    if timeout_ns is None:
        return None
    k = kernel or current_kernel()
    deadline = k.machine.clock.now() + max(0, timeout_ns)
    state.deadlines[task.pid] = deadline
    return deadline


def finish_wait(task: Task, kernel: Kernel | None = None) -> None:
    """The call is over (ready, timed out or interrupted): forget its deadline and queues."""
    state = wait_state(kernel)
    state.deadlines.pop(task.pid, None)
    timer = state.timers.pop(task.pid, None)
    if timer is not None:
        timer.cancel()
    remove_wait_queues(task, kernel)


def prepare_to_wait_event(task: Task, kernel: Kernel | None = None) -> int:
    """0 if the task may sleep, -EINTR (as -ERESTARTNOHAND's user-visible value) if a signal is
    pending — the one place an interruptible sleep is abandoned."""
    if signal_pending(task, kernel):
        finish_wait(task, kernel)
        return -EINTR
    return 0


def schedule_timeout(task: Task, deadline: int | None, kernel: Kernel | None = None) -> None:
    """Put the task to sleep until a wake-up or, if `deadline` is given, that virtual time."""
    from emulator.kernel.process import processes

    k = kernel or current_kernel()
    state = wait_state(k)
    if deadline is not None and task.pid not in state.timers:
        clock = k.machine.clock

        def expire() -> None:
            state.timers.pop(task.pid, None)
            wake_up_process(task, k)

        state.timers[task.pid] = clock.schedule(deadline - clock.now(), expire)
    processes(k).block(task)


def idle_until_wakeup(kernel: Kernel) -> bool:
    """Every task sleeps: let virtual time run to the next armed wake-up (a sleeping task's
    deadline or a poller such as the console's) and fire it. False if none is armed. When only
    a poller is armed and the host console is an interactive terminal, the host first waits
    briefly for input, so an idle guest waiting for the user does not spin (interactive input
    is not reproducible anyway; pipes, files and tests never take this path). A host input that
    is not a terminal and still has nothing after 60 s of idle virtual time counts as never
    coming (the run ends as "waits forever" instead of spinning)."""
    state = wait_state(kernel)
    live = [ev for ev in state.timers.values() if not ev.cancelled]
    if not live and not state.pollers:
        return False
    clock = kernel.machine.clock
    nxt = clock.next_deadline()
    if nxt is None:
        return False
    wait_input = getattr(kernel.machine.console, "wait_input", None)
    if not live and wait_input is not None:
        wait_input(IDLE_HOST_WAIT_S)  # an interactive host: wait for the user, not spin
    elif not live:  # a host that is not a terminal and keeps saying "nothing yet"
        if state.idle_since is None:
            state.idle_since = clock.now()
        elif clock.now() - state.idle_since > IDLE_POLL_LIMIT_NS:
            return False  # the scheduler reports that nothing can ever run
    clock.skip_to(nxt)
    clock.run_due()
    return True
