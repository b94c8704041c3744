"""Bare-metal firmware on both boards: boot convention, console, interrupts, exceptions,
time, and the run-stopping rules of the CLI contract."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ARCHES


@pytest.mark.parametrize("arch", ARCHES)
def test_hello_prints_the_greeting_and_exits_zero(run_firmware, arch):
    run = run_firmware("hello", arch)
    assert run.output == "Hello from soclab!\n"
    assert run.result.status == 0
    assert run.result.reason == "exit"


@pytest.mark.parametrize("arch", ARCHES)
def test_firmware_written_against_the_datasheet_alone_runs(run_firmware, arch):
    name = "bare_uart_arm" if arch == "armv7" else "bare_uart_x86"
    run = run_firmware(name, arch)
    assert run.output == "datasheet ok\n"
    assert run.result.status == 0


@pytest.mark.parametrize("arch", ARCHES)
def test_guest_timer_interrupt_handler_counts_ten_interrupts(run_firmware, arch):
    run = run_firmware("timer_irq", arch)
    assert run.result.status == 0
    assert "timer interrupts: 10\n" in run.output
    elapsed = int(re.search(r"elapsed us: (\d+)", run.output).group(1))
    assert 9_990 <= elapsed <= 10_010  # ten 1 ms periods of virtual time


@pytest.mark.parametrize("arch", ARCHES)
def test_waiting_for_interrupts_skips_virtual_time_instead_of_spinning(run_firmware, arch):
    run = run_firmware("timer_irq", arch)
    # 10 ms of virtual time at 10 ns per instruction would be 1 M instructions if it spun.
    assert run.result.time_ns >= 10_000_000
    assert run.result.insns < 100_000


@pytest.mark.parametrize("arch", ARCHES)
def test_two_runs_give_identical_output_instruction_count_and_time(run_firmware, arch):
    a = run_firmware("timer_irq", arch)
    b = run_firmware("timer_irq", arch)
    assert (a.output, a.result.insns, a.result.time_ns) == (
        b.output,
        b.result.insns,
        b.result.time_ns,
    )


@pytest.mark.parametrize("arch", ARCHES)
def test_demo_reads_board_facts_and_the_dtb_handed_over_at_boot(run_firmware, arch):
    run = run_firmware("demo", arch, ram_size=256 << 20)
    assert run.result.status == 0
    board_id = "1" if arch == "armv7" else "2"
    assert f"syscon BOARD = {board_id}" in run.output
    assert "256 MiB" in run.output
    assert "FDT magic ok" in run.output
    assert run.output.count("tick ") == 5


@pytest.mark.parametrize("arch", ARCHES)
def test_svc_and_undefined_instruction_enter_the_guests_vectors(run_firmware, arch):
    run = run_firmware("exceptions", arch)
    assert "svc: immediate 42\n" in run.output
    undef_at = re.search(r"undef: at ([0-9a-f]{8})", run.output).group(1)
    assert any(f"undefined instruction at pc=0x{undef_at}" in line for line in run.log)


def test_arm_bad_register_access_is_a_synchronous_external_abort(run_firmware):
    run = run_firmware("exceptions", "armv7")
    assert "data abort: DFSR=00000008 FS=8 DFAR=10001018\n" in run.output
    assert "resumed after the abort\n" in run.output
    assert run.result.status == 0


def test_x86_bad_register_access_stops_the_run_with_a_bus_error_report(run_firmware):
    run = run_firmware("exceptions", "x86")
    assert "resumed after the abort" not in run.output
    assert run.result.status == 135
    assert "bus error" in run.result.message and "0xfe001018" in run.result.message


@pytest.mark.parametrize("arch", ARCHES)
def test_waiting_with_interrupts_masked_and_no_events_stops_with_124(run_firmware, arch):
    run = run_firmware("wait_masked", arch)
    assert run.result.status == 124
    assert run.result.reason == "deadlock"
    assert "never make progress" in run.result.message


@pytest.mark.parametrize("arch", ARCHES)
def test_max_insns_stops_a_busy_loop_with_124(run_firmware, arch):
    run = run_firmware("spin", arch, max_insns=200_000)
    assert run.result.status == 124
    assert run.result.reason == "max-insns"
    assert 200_000 <= run.result.insns < 200_100


def test_thumb_code_interworks_and_takes_an_irq_from_a_thumb_wfi(run_firmware):
    run = run_firmware("thumb", "armv7")
    assert run.result.status == 0, run.log
    assert run.output == (
        "thumb: sum of squares 1..100 = 338350\nthumb: woke from wfi after 1 interrupt\n"
    )


@pytest.mark.parametrize("arch", ARCHES)
def test_console_input_reaches_the_guest_through_uart0(run_firmware, arch):
    run = run_firmware("echo", arch, input_bytes=b"hello\nsoc lab\nquit\n")
    assert run.output == "> HELLO\n> SOC LAB\nbye\n"
    assert run.result.status == 0


@pytest.mark.parametrize("arch", ARCHES)
def test_unimplemented_offsets_read_zero_and_are_reported_once(run_firmware, arch):
    run = run_firmware("guest_errors", arch)
    assert "unimplemented syscon offset reads 0\n" in run.output
    assert "syscon ID still 534f434c\n" in run.output
    reports = [line for line in run.log if "guest error" in line]
    assert reports == [
        "soclab: guest error: syscon: read of unimplemented offset 0x100 (reads as 0)",
        "soclab: guest error: syscon: write of 0xdead to unimplemented offset 0x100 (ignored)",
    ]
    assert run.machine.bus.guest_errors == 6


def test_arm_abort_without_a_vector_table_stops_the_run(run_firmware):
    run = run_firmware("wild_arm", "armv7")
    assert run.result.status == 139
    assert "no vector table" in run.result.message


def test_x86_access_to_nothing_stops_with_a_bus_error_naming_the_address(run_firmware):
    run = run_firmware("wild_x86", "x86")
    assert run.result.status == 135
    assert "address 0x80000000" in run.result.message


def test_x86_exception_with_no_idt_is_a_triple_fault(run_firmware):
    run = run_firmware("triple_x86", "x86")
    assert run.result.status == 139
    assert "triple fault" in run.result.message and "#BP" in run.result.message
