"""/proc renderers in Linux's formats, reflecting what the allocators did."""

from __future__ import annotations

import re

import pytest

from emulator.kernel.fs.proc import read_proc
from emulator.kernel.gfp import GFP_KERNEL
from emulator.kernel.mm.page_alloc import __free_pages, alloc_pages
from emulator.kernel.mm.slab import kfree, kmalloc
from emulator.kernel.mm.vmalloc import vfree, vmalloc

MEMINFO_LINE = re.compile(r"^[A-Za-z_()]+: *\d+ kB$")


def _meminfo() -> dict[str, int]:
    return {line.split(":")[0]: int(line.split()[-2]) for line in read_proc("meminfo").splitlines()}


def test_meminfo_lines_are_formatted_as_linux_prints_them(kernel):
    text = read_proc("meminfo")
    lines = text.splitlines()
    assert lines[0].startswith("MemTotal:       ") and lines[0].endswith(" kB")
    assert all(MEMINFO_LINE.match(line) and len(line) == 27 for line in lines)
    assert [line.split(":")[0] for line in lines[:3]] == ["MemTotal", "MemFree", "MemAvailable"]


def test_meminfo_follows_page_allocations_and_vmalloc(kernel):
    before = _meminfo()
    page = alloc_pages(GFP_KERNEL, 4)
    area = vmalloc(64 * 1024)
    after = _meminfo()
    assert before["MemFree"] - after["MemFree"] >= 64 + 64
    assert after["VmallocUsed"] - before["VmallocUsed"] == 64
    assert after["MemTotal"] == before["MemTotal"]
    vfree(area)
    __free_pages(page, 4)
    assert _meminfo()["MemFree"] == before["MemFree"]


def test_meminfo_counts_slab_pages(kernel):
    objs = [kmalloc(1024, GFP_KERNEL) for _ in range(64)]
    assert _meminfo()["Slab"] > 0
    for p in objs:
        kfree(p)


@pytest.mark.parametrize("name", ["buddyinfo", "slabinfo", "vmallocinfo", "iomem"])
def test_every_memory_proc_file_renders(kernel, name):
    text = read_proc(name)
    assert text.endswith("\n") or text == ""


def test_an_unknown_proc_file_is_not_found(kernel):
    with pytest.raises(FileNotFoundError):
        read_proc("nonexistent")
