"""Static Linux programs (musl) run as pid 1 on the kernel model, on both boards: exec with
argv/envp/auxv, system calls, demand paging, and fatal signals."""

from __future__ import annotations

import pytest

from emulator.cli import main
from firmware.build import build_linux

ARCHES = ("armv7", "x86")


def run(capsys, name: str, *args: str, arch: str = "armv7") -> tuple[int, str, str]:
    status = main(["run", "--board", arch, str(build_linux(name, arch)), *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("arch", ARCHES)
def test_a_static_musl_program_prints_its_arguments_and_exits_with_its_status(capsys, arch):
    status, out, err = run(capsys, "hello_linux", "one", "two", arch=arch)
    assert status == 42
    lines = out.splitlines()
    assert lines[0] == "hello from pid 1"
    assert lines[1].startswith("argv[0] = /bin/hello_linux")
    assert lines[2:4] == ["argv[1] = one", "argv[2] = two"]
    assert "HOME=/" in lines
    assert "malloc ok, sum 23040" in lines  # a 1 MiB mmap'd buffer, demand paged


@pytest.mark.parametrize("arch, machine", [("armv7", "armv7l"), ("x86", "i686")])
def test_bad_pointers_and_unknown_calls_get_errnos_not_crashes(capsys, arch, machine):
    status, out, err = run(capsys, "syscalls_linux", arch=arch)
    assert status == 0, err
    assert "write(bad pointer) = -1 errno=14" in out  # EFAULT
    assert "syscall(9999) = -1 errno=38" in out  # ENOSYS
    assert err.count("unknown system call 0x270f") == 1
    assert f"uname: Linux {machine}" in out
    assert "mmap: anonymous memory, zero-filled 1" in out
    assert "mprotect = 0" in out and "munmap = 0" in out


@pytest.mark.parametrize("arch, error", [("armv7", "817"), ("x86", "6")])
def test_a_wild_write_kills_the_process_with_sigsegv_and_a_kernel_style_line(capsys, arch, error):
    status, out, err = run(capsys, "segv_linux", arch=arch)
    assert status == 128 + 11
    assert out == "about to fault\n"
    assert "[1]: segfault at 10 ip " in err and f" error {error}\n" in err


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("name", ["hello_linux", "syscalls_linux"])
def test_two_runs_of_a_program_are_identical(capsys, name, arch):
    assert run(capsys, name, arch=arch) == run(capsys, name, arch=arch)


@pytest.mark.parametrize("arch", ARCHES)
def test_programs_reach_proc_dev_tmp_and_their_own_exe_through_the_vfs(capsys, arch):
    status, out, err = run(capsys, "files_linux", arch=arch)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "meminfo: MemTotal:"
    assert "zero: 16 0" in lines and "null: 4" in lines
    assert "dev: null listed 1, >4 entries 1" in lines
    assert "tmp: persisted" in lines and "stat /tmp/note: 0 size 10" in lines
    assert "isatty(1): 1" in lines and "open missing: -1" in lines
    exe = next(line for line in lines if line.startswith("exe: "))
    assert exe.startswith("exe: /bin/files_linux")


@pytest.mark.parametrize("arch", ARCHES)
def test_proc_self_maps_lists_the_programs_segments_and_stack_in_linux_format(capsys, arch):
    status, out, err = run(capsys, "procself_linux", "x", arch=arch)
    assert status == 0, err
    lines = out.splitlines()
    maps = [line for line in lines if "-" in line[:17] and line[8] == "-"]
    assert any(line.endswith("[stack]") and " rw-p " in line for line in maps)
    exe = [line for line in maps if "/bin/procself_linux" in line]
    assert any(" r-xp " in line for line in exe)
    assert all(line.index("/bin/") == 49 for line in exe)  # Linux pads names to column 49
    stat = next(line for line in lines if line.startswith("1 ("))
    assert stat.split(") ")[1].startswith("R 0 1 1 ")
    assert len(stat.split()) == 52


@pytest.mark.parametrize("arch", ARCHES)
def test_fork_gives_children_their_own_memory_and_waitpid_reaps_their_statuses(capsys, arch):
    status, out, err = run(capsys, "fork_linux", arch=arch)
    assert status == 0, err
    assert out.splitlines() == [
        line
        for i in (1, 2, 3)
        for line in (
            f"child {i}: pid {i + 1}, ppid 1, shared {10 + i}",
            f"parent: child {i + 1} exited {10 + i} (reaped 1), shared still 10",
        )
    ]


@pytest.mark.parametrize("arch", ARCHES)
def test_a_forked_child_execs_a_program_from_the_vfs_and_the_parent_gets_its_status(capsys, arch):
    status, out, err = run(capsys, "exec_linux", arch=arch)
    assert status == 0, err
    assert out.splitlines() == [
        "exec'd: argv[1]=again pid 2",
        "child 2: exit 7",
        "execve missing: -1",
    ]


@pytest.mark.parametrize("arch", ARCHES)
def test_a_pipe_larger_than_its_buffer_blocks_and_wakes_both_ends(capsys, arch):
    status, out, err = run(capsys, "pipe_linux", arch=arch)
    assert status == 0, err
    assert out == "read 163840 bytes through the pipe, child exit 0\n"


@pytest.mark.parametrize("arch", ARCHES)
def test_nanosleep_advances_virtual_time_without_executing_code(capsys, arch):
    status, out, err = run(capsys, "sleep_linux", arch=arch)
    assert status == 0, err
    assert out == "slept 250 ms of virtual time\n"


@pytest.mark.parametrize("arch", ARCHES)
def test_a_sigsegv_handler_sees_the_fault_and_recovers_through_sigreturn(capsys, arch):
    status, out, err = run(capsys, "sigsegv_linux", arch=arch)
    assert status == 0, err
    assert out.splitlines() == [
        "handler: signal 11, code 2, at page offset 100",  # SEGV_ACCERR, exact si_addr
        "recovered: page[100] = 42 after 1 fault(s)",
    ]


@pytest.mark.parametrize("arch, board", [("armv7", 1), ("x86", 2)])
def test_dev_mem_mmap_reads_the_syscon_id_and_strict_devmem_refuses_dram(capsys, arch, board):
    status, out, err = run(capsys, "devmem_linux", arch=arch)
    assert status == 0, err
    assert out.splitlines() == [
        f"syscon ID 534f434c, BOARD {board}",
        "DRAM mmap: EPERM",
        "read(): 4, ID 534f434c",
    ]


def test_exec_gives_a_new_tag_and_fork_keeps_the_parents(arm_kernel):
    # the native block counter caches block sizes per tag (tests/emulator/test_blockcount.py)
    from emulator.kernel.process import processes
    from emulator.loader import load_image

    pm = processes(arm_kernel)
    image = load_image(build_linux("hello_linux", "armv7"), "armv7")
    first = pm.exec(image, ["/bin/a"], [], "/bin/a")
    assert arm_kernel.cpu.counter.tag == first.mm.code_tag != 0
    child = pm.fork(first, 0)
    assert child.mm.code_tag == first.mm.code_tag
    second = pm.exec(image, ["/bin/b"], [], "/bin/b")
    assert second.mm.code_tag not in (0, first.mm.code_tag)
