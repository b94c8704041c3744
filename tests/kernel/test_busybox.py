"""Debian's busybox-static, unmodified (armhf on soclab-armv7, i386 on soclab-x86), gives the
output a Linux system would: the issue's measure of the kernel model with a binary built by
somebody else (glibc, static). The package is fetched once and cached (firmware/busybox.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from emulator.cli import main
from firmware.busybox import busybox

ARCHES = ("armv7", "x86")
MOTD = b"hello, soclab\nsecond line\nthird\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "motd").write_bytes(MOTD)
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 40)
    return tmp_path


def bb(capsys, arch: str, root: Path | None, *args: str) -> tuple[int, str, str]:
    opts = ["--root", str(root)] if root is not None else []
    status = main(["run", "--board", arch, *opts, str(busybox(arch)), *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("arch", ARCHES)
def test_echo_and_exit_status(capsys, arch):
    assert bb(capsys, arch, None, "echo", "hello", "world")[:2] == (0, "hello world\n")
    assert bb(capsys, arch, None, "false")[0] == 1


@pytest.mark.parametrize("arch", ARCHES)
def test_cat_concatenates_host_root_files_and_proc(capsys, arch, root):
    status, out, _ = bb(capsys, arch, root, "cat", "/etc/motd", "/proc/version")
    assert status == 0
    assert out.startswith(MOTD.decode() + "Linux version 6.1.0-soclab ")
    status, out, _ = bb(capsys, arch, root, "cat", "/etc/missing")  # fd 2 is the console too
    assert (status, out) == (1, "cat: can't open '/etc/missing': No such file or directory\n")


@pytest.mark.parametrize("arch", ARCHES)
def test_ls_dev_lists_the_device_nodes(capsys, arch):
    status, out, _ = bb(capsys, arch, None, "ls", "/dev")
    assert status == 0
    assert out.split() == ["console", "full", "mem", "null", "random", "ttyS0", "urandom", "zero"]


@pytest.mark.parametrize("arch, machine", [("armv7", "armv7l"), ("x86", "i686")])
def test_uname_a(capsys, arch, machine):
    status, out, _ = bb(capsys, arch, None, "uname", "-a")
    assert status == 0
    assert out == f"Linux soclab 6.1.0-soclab #1 SMP PREEMPT soclab {machine} GNU/Linux\n"


@pytest.mark.parametrize("arch", ARCHES)
def test_hexdump_canonical(capsys, arch, root):
    status, out, _ = bb(capsys, arch, root, "hexdump", "-C", "/etc/motd")
    assert status == 0
    assert out == (
        "00000000  68 65 6c 6c 6f 2c 20 73  6f 63 6c 61 62 0a 73 65  |hello, soclab.se|\n"
        "00000010  63 6f 6e 64 20 6c 69 6e  65 0a 74 68 69 72 64 0a  |cond line.third.|\n"
        "00000020\n"
    )


@pytest.mark.parametrize("arch", ARCHES)
def test_dd_copies_blocks_with_skip_and_count(capsys, arch, root):
    status, out, err = bb(capsys, arch, root, "dd", "if=/etc/motd", "bs=4", "count=2", "skip=1")
    assert (status, out) == (0, MOTD[4:12].decode() + "2+0 records in\n2+0 records out\n")
    status, out, _ = bb(
        capsys, arch, None, "dd", "if=/dev/zero", "of=/dev/null", "bs=1k", "count=3"
    )
    assert (status, out) == (0, "3+0 records in\n3+0 records out\n")


@pytest.mark.parametrize("arch", ARCHES)
def test_wc_and_head(capsys, arch, root):
    assert bb(capsys, arch, root, "wc", "/etc/motd")[1].split() == ["3", "5", "32", "/etc/motd"]
    assert (
        bb(capsys, arch, root, "head", "-n", "2", "/etc/motd")[1] == "hello, soclab\nsecond line\n"
    )


@pytest.mark.parametrize("arch", ARCHES)
def test_sha256sum_of_a_10k_file_matches_the_host(capsys, arch, root):
    status, out, _ = bb(capsys, arch, root, "sha256sum", "/data.bin")
    assert status == 0
    digest = hashlib.sha256((root / "data.bin").read_bytes()).hexdigest()
    assert out == f"{digest}  /data.bin\n"


@pytest.mark.parametrize("arch, syscon", [("armv7", "0x10000000"), ("x86", "0xFE000000")])
def test_devmem_reads_the_syscon_id_and_strict_devmem_refuses_dram(capsys, arch, syscon):
    status, out, _ = bb(capsys, arch, None, "devmem", syscon)
    assert (status, out) == (0, "0x534F434C\n")
    dram = "0x00100000" if arch == "x86" else "0x60100000"
    status, out, _ = bb(capsys, arch, None, "devmem", dram)
    assert (status, out) == (1, "devmem: mmap: Operation not permitted\n")


def _deb(files: dict[str, bytes]) -> bytes:
    """A minimal .deb: an ar archive with debian-binary and data.tar.xz."""
    import io
    import tarfile

    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w:xz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out = b"!<arch>\n"
    for name, data in (("debian-binary", b"2.0\n"), ("data.tar.xz", tar_bytes.getvalue())):
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{644:<8}{len(data):<10}`\n".encode() + data
        out += b"\n" if len(data) & 1 else b""
    return out


def test_the_package_is_checked_against_its_pinned_digest_and_unpacked(tmp_path, monkeypatch):
    import firmware.busybox as fb

    deb = _deb({"./bin/busybox": b"\x7fELF fake"})
    pkg = fb.Package("armhf", hashlib.sha256(deb).hexdigest())
    monkeypatch.setitem(fb.PACKAGES, "armv7", pkg)
    monkeypatch.setattr(fb.Package, "urls", property(lambda self: []))
    monkeypatch.setattr(fb, "_from_index", lambda pkg: None)
    monkeypatch.setenv("SOCLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SOCLAB_BUSYBOX_DEB_DIR", str(tmp_path))
    (tmp_path / pkg.filename).write_bytes(deb[:-1] + b"X")  # corrupted
    with pytest.raises(fb.BusyboxUnavailable, match="expected"):
        fb.busybox("armv7")
    (tmp_path / pkg.filename).write_bytes(deb)
    path = fb.busybox("armv7")
    assert path.read_bytes() == b"\x7fELF fake" and path.stat().st_mode & 0o111


@pytest.mark.parametrize("arch", ARCHES)
def test_free_reports_the_kernels_memory_totals(capsys, arch):
    status, out, _ = bb(capsys, arch, None, "free")
    assert status == 0
    header, mem, swap = out.splitlines()
    assert header.split() == ["total", "used", "free", "shared", "buff/cache", "available"]
    total, used, free = (int(x) for x in mem.split()[1:4])
    assert mem.startswith("Mem:") and total in (1047552, 1045504) and used + free == total
    assert 0 < used < 8192  # the kernel's own pages and the shell's
    assert swap.split() == ["Swap:", "0", "0", "0"]


SCRIPT = """\
echo hi | cat
cat /etc/motd | wc -l
uname -m | tr a-z A-Z
for i in 1 2 3; do echo n$i; done | tail -1
x=$(echo sub | sed s/sub/shell/); echo $x
sleep 1 && echo slept
(exit 3); echo status $?
false || echo or
yes | head -2
ls /proc/self/ | grep -c exe
echo $((6 * 7))
"""


@pytest.mark.parametrize("arch, machine", [("armv7", "ARMV7L"), ("x86", "I686")])
def test_sh_c_runs_pipelines_substitutions_and_applets_through_proc_self_exe(
    capsys, arch, machine, root
):
    status, out, _ = bb(capsys, arch, root, "sh", "-c", SCRIPT + "exit 7")
    assert status == 7
    assert out.splitlines() == [
        "hi",
        "3",
        machine,
        "n3",
        "shell",
        "slept",
        "status 3",
        "or",
        "y",
        "y",
        "1",
        "42",
    ]


@pytest.mark.parametrize("arch", ARCHES)
def test_an_interactive_shell_reads_its_commands_from_the_console(capsys, monkeypatch, arch):
    import emulator.cli

    lines = [b"echo typed\n", b"exit 4\n"]
    monkeypatch.setattr(
        emulator.cli, "_stdin_reader", lambda: lambda: lines.pop(0) if lines else None
    )
    status, out, _ = bb(capsys, arch, None, "sh")
    assert status == 4
    assert "/ # echo typed\ntyped\n/ # exit 4\n" in out


@pytest.mark.parametrize("arch", ARCHES)
def test_top_and_uptime_read_proc_stat_and_loadavg(capsys, arch):
    status, out, _ = bb(capsys, arch, None, "sh", "-c", "top -b -n 1; uptime")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("Mem: ") and " free, " in lines[0]
    assert lines[1].startswith("CPU:") and "% idle" in lines[1]
    assert lines[2].startswith("Load average: 0.00 0.00 0.00 ")
    assert lines[3].split() == ["PID", "PPID", "USER", "STAT", "VSZ", "%VSZ", "%CPU", "COMMAND"]
    assert any(line.split()[-4:] == ["top", "-b", "-n", "1"] for line in lines[4:])
    assert "up 0 min,  0 users,  load average: 0.00, 0.00, 0.00" in lines[-1]
