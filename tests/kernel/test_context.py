"""Atomic context: interrupt handlers and held spinlocks may not sleep, and the report names
the Python caller that tried."""

from __future__ import annotations

from emulator.board import load_board
from emulator.kernel.context import (
    in_atomic,
    might_sleep,
    mutex,
    mutex_lock,
    mutex_unlock,
    spin_lock,
    spin_lock_irqsave,
    spin_unlock,
    spin_unlock_irqrestore,
    spinlock_t,
)
from emulator.kernel.core import Kernel
from emulator.machine import Machine


def boot() -> Kernel:
    return Kernel(Machine(load_board("armv7", 64 << 20), log=lambda m: None), echo=False).boot()


def my_driver_irq_handler() -> None:
    might_sleep("kmalloc (mm/slab.h)")


def test_a_sleeping_call_in_an_interrupt_handler_is_reported_with_its_caller():
    k = boot()
    with k.context.hardirq():
        assert in_atomic()
        my_driver_irq_handler()
    log = k.log_text()
    assert "BUG: sleeping function called from invalid context at kmalloc (mm/slab.h)" in log
    assert "in_atomic(): 1, irqs_disabled(): 1" in log
    assert "my_driver_irq_handler (test_context.py:" in log
    assert not in_atomic()


def test_holding_a_spinlock_is_atomic_and_releasing_it_is_not():
    k = boot()
    lock = spinlock_t("dev->lock")
    spin_lock(lock)
    mutex_lock(mutex("io"))
    spin_unlock(lock)
    assert "sleeping function called from invalid context at mutex_lock" in k.log_text()
    k.dmesg.clear()
    mutex_lock(m := mutex("io2"))
    mutex_unlock(m)
    assert k.dmesg == []


def test_spin_lock_irqsave_restores_the_interrupt_state():
    k = boot()
    lock = spinlock_t()
    flags = spin_lock_irqsave(lock)
    assert k.context.irqs_disabled and in_atomic()
    spin_unlock_irqrestore(lock, flags)
    assert not k.context.irqs_disabled and not in_atomic()


def test_lock_misuse_is_reported_not_fatal():
    k = boot()
    lock = spinlock_t("l")
    spin_lock(lock)
    spin_lock(lock)
    spin_unlock(lock)
    spin_unlock(lock)
    log = k.log_text()
    assert "spinlock recursion" in log and "spinlock already unlocked" in log
