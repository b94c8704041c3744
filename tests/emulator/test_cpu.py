"""Architectural exception entry, checked register by register."""

from __future__ import annotations

import struct

import pytest
from unicorn import arm_const as A
from unicorn import x86_const as X

from emulator.board import load_board
from emulator.cpu.arm import CPSR_A, CPSR_I, CPSR_T, MODE_IRQ, MODE_SVC, SCTLR_V
from emulator.cpu.base import Fault, GuestStop
from emulator.machine import Machine


@pytest.fixture
def arm() -> Machine:
    return Machine(load_board("armv7"), log=lambda msg: None)


@pytest.fixture
def x86() -> Machine:
    return Machine(load_board("x86"), log=lambda msg: None)


def test_arm_boot_state_follows_the_linux_boot_convention(arm):
    arm.cpu.boot(0x6000_0000, 0x9FFF_0000)
    regs = arm.cpu.registers()
    assert (regs["r0"], regs["r1"], regs["r2"]) == (0, 0xFFFF_FFFF, 0x9FFF_0000)
    assert regs["cpsr"] & 0x1F == MODE_SVC
    assert regs["cpsr"] & CPSR_I and regs["cpsr"] & 0x40  # IRQ and FIQ masked


def test_arm_irq_entry_uses_vbar_and_banks_spsr_and_lr(arm):
    cpu = arm.cpu
    cpu.boot(0x6000_1000, 0)
    cpu.uc.reg_write(A.UC_ARM_REG_CPSR, MODE_SVC)  # unmasked, ARM state
    cpu.set_cp15("VBAR", 0x6000_0000)
    cpu.take_irq()
    assert cpu.pc == 0x6000_0018
    assert cpu.cpsr & 0x1F == MODE_IRQ and cpu.cpsr & CPSR_I and cpu.cpsr & CPSR_A
    assert cpu.uc.reg_read(A.UC_ARM_REG_LR) == 0x6000_1004
    assert cpu.uc.reg_read(A.UC_ARM_REG_SPSR) == MODE_SVC


def test_arm_high_vectors_put_the_irq_vector_at_ffff0018(arm):
    cpu = arm.cpu
    cpu.boot(0x6000_1000, 0)
    cpu.set_cp15("SCTLR", cpu.cp15("SCTLR") | SCTLR_V)
    cpu.take_irq()
    assert cpu.pc == 0xFFFF_0018


def test_arm_irq_from_thumb_returns_to_thumb_and_enters_in_arm_state(arm):
    cpu = arm.cpu
    cpu.boot(0x6000_1001, 0)  # Thumb entry point
    cpu.set_cp15("VBAR", 0x6000_0000)
    assert cpu.thumb() and cpu.pc == 0x6000_1000
    cpu.take_irq()
    assert not cpu.thumb()
    assert cpu.uc.reg_read(A.UC_ARM_REG_SPSR) & CPSR_T
    assert cpu.uc.reg_read(A.UC_ARM_REG_LR) == 0x6000_1004


def test_arm_data_abort_sets_dfsr_dfar_and_lr_plus_8(arm):
    cpu = arm.cpu
    cpu.boot(0x6000_1000, 0)
    cpu.set_cp15("VBAR", 0x6000_0000)
    cpu.deliver(Fault("data", 0x6000_2000, 0x1000_1018, is_write=True, message="bus error"))
    assert cpu.pc == 0x6000_0010
    assert cpu.cp15("DFSR") == 0x808  # external abort, WnR
    assert cpu.cp15("DFAR") == 0x1000_1018
    assert cpu.uc.reg_read(A.UC_ARM_REG_LR) == 0x6000_2008


def _idt_gate(offset: int, selector: int = 0x08, gate_type: int = 0xE) -> bytes:
    return struct.pack(
        "<II",
        (selector << 16) | (offset & 0xFFFF),
        (offset & 0xFFFF_0000) | 0x8000 | (gate_type << 8),
    )


def test_x86_interrupt_gate_pushes_eflags_cs_eip_and_clears_if(x86):
    cpu = x86.cpu
    cpu.boot(0x0010_0000, 0, 0x1000)
    idt = 0x2000
    cpu.write_virt(idt + 0x80 * 8, _idt_gate(0x0010_4000))
    cpu.uc.reg_write(X.UC_X86_REG_IDTR, (0, idt, 256 * 8 - 1, 0))
    cpu.uc.reg_write(X.UC_X86_REG_ESP, 0x9000)
    cpu.uc.reg_write(X.UC_X86_REG_EFLAGS, 0x202)
    cpu.deliver(Fault("int", 0x0010_0010, intno=0x80))
    assert cpu.pc == 0x0010_4000
    assert cpu.reg(X.UC_X86_REG_ESP) == 0x9000 - 12
    eip, cs, eflags = struct.unpack("<III", cpu.read_virt(0x9000 - 12, 12))
    assert (eip, cs, eflags) == (0x0010_0010, 0x08, 0x202)
    assert not cpu.reg(X.UC_X86_REG_EFLAGS) & 0x200


def test_x86_vector_with_an_error_code_pushes_it(x86):
    cpu = x86.cpu
    cpu.boot(0x0010_0000, 0, 0x1000)
    cpu.write_virt(0x2000 + 13 * 8, _idt_gate(0x0010_5000, gate_type=0xF))
    cpu.uc.reg_write(X.UC_X86_REG_IDTR, (0, 0x2000, 256 * 8 - 1, 0))
    cpu.uc.reg_write(X.UC_X86_REG_ESP, 0x9000)
    cpu.deliver(Fault("int", 0x0010_0020, intno=13, status=0x18))
    assert cpu.reg(X.UC_X86_REG_ESP) == 0x9000 - 16
    assert struct.unpack("<I", cpu.read_virt(0x9000 - 16, 4))[0] == 0x18


def test_x86_not_present_gate_is_a_triple_fault(x86):
    cpu = x86.cpu
    cpu.boot(0x0010_0000, 0, 0x1000)
    cpu.uc.reg_write(X.UC_X86_REG_IDTR, (0, 0x2000, 256 * 8 - 1, 0))
    with pytest.raises(GuestStop, match="not a present interrupt or trap gate"):
        cpu.deliver(Fault("int", 0x0010_0000, intno=0x21))
