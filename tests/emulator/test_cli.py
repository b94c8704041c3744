"""The `soclab run` contract: exit statuses, one-line errors, trace, stats, boards, images."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.board import board_source
from emulator.cli import main
from firmware.build import build


def soclab(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["run", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_soclab_run_without_an_image_runs_the_builtin_demo():
    proc = subprocess.run(
        [sys.executable, "-m", "emulator.cli", "run"],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert "soclab-armv7" in proc.stdout
    assert "goodbye" in proc.stdout


def test_exit_status_is_the_guests_and_console_goes_to_stdout(capsys):
    status, out, err = soclab(capsys, "--bare-metal", "--board", "x86", str(build("hello", "x86")))
    assert (status, out, err) == (0, "Hello from soclab!\n", "")


def test_stats_report_instructions_time_speed_and_tlb_fills(capsys):
    status, out, err = soclab(capsys, "--bare-metal", "--stats", str(build("timer_irq", "armv7")))
    assert status == 0
    insns = int(err.split("instructions retired: ")[1].split()[0])
    assert insns > 1000
    assert "virtual time: " in err and "MIPS" in err and "TLB fills: " in err


def test_max_insns_gives_124_and_a_one_line_reason(capsys):
    status, out, err = soclab(
        capsys, "--bare-metal", "--max-insns", "50000", str(build("spin", "armv7"))
    )
    assert status == 124
    assert err.count("\n") == 1 and "--max-insns" in err


def test_trace_lists_executed_blocks_symbolised_and_disassembled(capsys, tmp_path):
    trace = tmp_path / "trace.txt"
    status, out, err = soclab(
        capsys, "--bare-metal", "--trace", str(trace), str(build("hello", "armv7"))
    )
    assert status == 0
    text = trace.read_text()
    assert "<_start>" in text
    assert "<main>" in text
    first_block = text.splitlines()[1]
    assert first_block.startswith("[000000000000] 0x60000000")
    assert any(line.strip().startswith("0x60000000:") for line in text.splitlines())


def test_a_users_own_dts_builds_the_machine(capsys, tmp_path):
    dts = board_source("armv7")[1].replace("0x60000000 0x40000000", "0x60000000 0x8000000")
    path = tmp_path / "small.dts"
    path.write_text(dts)
    status, out, err = soclab(capsys, "--board", str(path))
    assert status == 0
    assert "128 MiB" in out


@pytest.mark.parametrize(
    "dts, message",
    [
        ('/dts-v1/; / { compatible = "soclab,armv7"; ', "malformed devicetree"),
        ('/dts-v1/; / { compatible = "acme,board"; };', "unknown board"),
        (
            '/dts-v1/; / { compatible = "soclab,armv7"; #address-cells = <1>; '
            "#size-cells = <1>; };",
            "no memory node",
        ),
    ],
)
def test_a_malformed_or_unknown_tree_is_a_one_line_error(capsys, tmp_path, dts, message):
    path = tmp_path / "bad.dts"
    path.write_text(dts)
    status, out, err = soclab(
        capsys, "--board", str(path), "--bare-metal", str(build("hello", "armv7"))
    )
    assert status == 2
    assert message in err and err.count("\n") == 1


def test_an_unknown_board_name_is_a_one_line_error(capsys):
    status, out, err = soclab(capsys, "--board", "riscv")
    assert status == 2 and "unknown board 'riscv'" in err and err.count("\n") == 1


def test_an_elf_for_the_other_architecture_is_rejected(capsys):
    status, out, err = soclab(
        capsys, "--bare-metal", "--board", "armv7", str(build("hello", "x86"))
    )
    assert status == 2
    assert "ELF for EM_386, but the board's CPU is ARM" in err and err.count("\n") == 1


def test_a_truncated_elf_is_rejected(capsys, tmp_path):
    data = build("hello", "armv7").read_bytes()
    for size in (20, 200, len(data) // 2):
        bad = tmp_path / f"trunc{size}.elf"
        bad.write_bytes(data[:size])
        status, out, err = soclab(capsys, "--bare-metal", str(bad))
        assert status == 2, err
        assert err.count("\n") == 1 and "soclab:" in err


def _program_headers(data: bytes) -> tuple[int, int, int]:
    (phoff,) = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    return phoff, phentsize, phnum


def test_overlapping_segments_are_rejected(capsys, tmp_path):
    data = bytearray(build("hello", "armv7").read_bytes())
    phoff, phentsize, phnum = _program_headers(data)
    loads = [
        phoff + i * phentsize
        for i in range(phnum)
        if struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 1
    ]
    assert len(loads) >= 2
    first_paddr = struct.unpack_from("<I", data, loads[0] + 12)[0]
    struct.pack_into("<I", data, loads[1] + 12, first_paddr)  # second p_paddr = first's
    bad = tmp_path / "overlap.elf"
    bad.write_bytes(bytes(data))
    status, out, err = soclab(capsys, "--bare-metal", str(bad))
    assert status == 2 and "overlap" in err


def test_a_segment_outside_memory_is_rejected(capsys, tmp_path):
    data = bytearray(build("hello", "armv7").read_bytes())
    phoff, phentsize, phnum = _program_headers(data)
    struct.pack_into("<I", data, phoff + 12, 0x2000_0000)  # first p_paddr: no memory there
    bad = tmp_path / "outside.elf"
    bad.write_bytes(bytes(data))
    status, out, err = soclab(capsys, "--bare-metal", str(bad))
    assert status == 2 and "outside the board's memory" in err


def test_a_raw_image_runs_at_the_given_load_address(capsys, tmp_path):
    elf = build("bare_uart_arm", "armv7")
    raw = tmp_path / "bare.bin"
    zig = [sys.executable, "-m", "ziglang", "objcopy", "-O", "binary", str(elf), str(raw)]
    subprocess.run(zig, check=True, capture_output=True)
    status, out, err = soclab(capsys, "--bare-metal", "--load-addr", "0x60000000", str(raw))
    assert (status, out) == (0, "datasheet ok\n")
    status, out, err = soclab(capsys, "--bare-metal", str(raw))
    assert status == 2 and "--load-addr" in err


def test_a_missing_image_is_a_one_line_error(capsys, tmp_path):
    status, out, err = soclab(capsys, "--bare-metal", str(tmp_path / "nope.elf"))
    assert status == 2 and "no such file" in err


def test_the_console_script_is_installed():
    exe = shutil.which("soclab") or str(Path(sys.executable).parent / "soclab")
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("soclab ")


def test_cache_policy_and_hazard_summary_on_the_command_line(capsys):
    elf = str(build("mmu_alias_arm", "armv7"))
    status, out, err = soclab(capsys, "--bare-metal", "--cache", "off", elf)
    assert status == 0 and "before clean: yes" in out
    status, out, err = soclab(capsys, "--bare-metal", "--stats", elf)
    assert status == 0 and "before clean: no" in out
    assert "soclab: hazard: one physical page mapped with conflicting memory types" in err
    assert "soclab: hazards: 1" in err and "cache (worst-case):" in err


def test_stop_on_hazard_exits_125_with_a_one_line_reason(capsys):
    status, out, err = soclab(
        capsys,
        "--bare-metal",
        "--stop-on-hazard",
        "--board",
        "x86",
        str(build("mmu_alias_x86", "x86")),
    )
    assert status == 125
    assert err.splitlines()[-1].startswith("soclab: stopped at the first hazard")


def test_a_bad_cache_policy_is_a_one_line_error(capsys):
    status, out, err = soclab(capsys, "--cache", "fastest")
    assert status == 2 and "unknown cache policy 'fastest'" in err and err.count("\n") == 1
