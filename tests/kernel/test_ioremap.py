"""I/O memory: the /proc/iomem resource tree and request_mem_region's rules, ioremap and its
memory types per architecture, the readl/writel accessors and their barriers, bus errors as
driver oopses, and devm_* resources released in reverse order when a driver unbinds."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from emulator.cpu.base import TranslationFault
from emulator.kernel.base.devres import (
    Device,
    ErrPtr,
    devm_add_action,
    devm_ioremap,
    devm_ioremap_resource,
    devm_kfree,
    devm_kmalloc,
    devm_kzalloc,
    devm_request_mem_region,
    devres_held,
    devres_release_all,
)
from emulator.kernel.core import PAGE_SIZE, Kernel, KernelBug
from emulator.kernel.gfp import GFP_KERNEL
from emulator.kernel.io import (
    BusErrorOops,
    memcpy_fromio,
    memcpy_toio,
    memset_io,
    readb,
    readl,
    readl_relaxed,
    rmb,
    wmb,
    writel,
    writel_relaxed,
)
from emulator.kernel.mm.ioremap import (
    ioremap,
    ioremap_cache,
    ioremap_wc,
    ioremap_wt,
    iounmap,
)
from emulator.kernel.mm.vmalloc import vmallocinfo
from emulator.kernel.resource import (
    IORESOURCE_MEM,
    Resource,
    insert_resource,
    iomem,
    iomem_resource,
    lookup_resource,
    of_iomem_resources,
    release_mem_region,
    release_resource,
    request_mem_region,
    request_resource,
)
from emulator.mmu import MemType

EBUSY = 16
SYSCON_ID = 0x534F_434C
SYSCON = {"armv7": 0x1000_0000, "x86": 0xFE00_0000}
UART = {"armv7": 0x1000_1000, "x86": 0xFE00_1000}
REGBANK = {"armv7": 0x1000_4000, "x86": 0xFE00_4000}
VRAM = {"armv7": 0x1800_0000, "x86": 0xFD00_0000}


def arch(k: Kernel) -> str:
    return str(k.machine.board.arch)


# -- /proc/iomem and request_mem_region -----------------------------------------------------


def test_iomem_lists_ram_the_kernel_image_and_every_device_block_arm(arm_kernel: Kernel) -> None:
    assert iomem() == (
        "10000000-10000fff : 10000000.syscon\n"
        "10001000-10001fff : 10001000.serial\n"
        "10002000-10002fff : 10002000.timer\n"
        "10003000-10003fff : 10003000.interrupt-controller\n"
        "10004000-10004fff : 10004000.regbank\n"
        "10010000-10010fff : 10010000.dma\n"
        "10020000-10020fff : 10020000.display\n"
        "18000000-187fffff : 10020000.display\n"
        "60000000-9fffffff : System RAM\n"
        "  60000000-600fffff : Kernel code\n"
    )


def test_iomem_lists_ram_the_kernel_image_and_every_device_block_x86(x86_kernel: Kernel) -> None:
    assert iomem() == (
        "00000000-3fffffff : System RAM\n"
        "  00000000-000fffff : reserved\n"
        "  01000000-011fffff : Kernel code\n"
        "fd000000-fd7fffff : fe020000.display\n"
        "fe000000-fe000fff : fe000000.syscon\n"
        "fe001000-fe001fff : fe001000.serial\n"
        "fe002000-fe002fff : fe002000.timer\n"
        "fe003000-fe003fff : fe003000.interrupt-controller\n"
        "fe004000-fe004fff : fe004000.regbank\n"
        "fe010000-fe010fff : fe010000.dma\n"
        "fe020000-fe020fff : fe020000.display\n"
    )


def test_request_mem_region_nests_under_the_device_and_a_busy_conflict_fails(
    arm_kernel: Kernel,
) -> None:
    res = request_mem_region(0x1000_1000, 0x1000, "uart-pl011")
    assert res is not None and res.parent is not None
    assert res.parent.name == "10001000.serial"
    assert "10001000-10001fff : 10001000.serial\n  10001000-10001fff : uart-pl011\n" in iomem()
    assert request_mem_region(0x1000_1000, 0x1000, "second driver") is None  # busy
    assert request_mem_region(0x1000_1FFC, 8, "straddles two devices") is None
    assert request_mem_region(0x6100_0000, PAGE_SIZE, "a RAM grab") is None  # RAM is busy
    release_mem_region(0x1000_1000, 0x1000)
    assert "uart-pl011" not in iomem()
    assert request_mem_region(0x1000_1000, 0x1000, "second driver") is not None


def test_releasing_a_region_nobody_requested_warns(arm_kernel: Kernel) -> None:
    release_mem_region(0x1000_4000, 0x100)
    assert "Trying to free nonexistent resource <0x10004000-0x100040ff>" in arm_kernel.log_text()


def test_request_and_insert_resource_return_ebusy_on_a_conflict(x86_kernel: Kernel) -> None:
    root = iomem_resource()
    assert request_resource(root, Resource(0xFE00_0800, 0xFE00_17FF, "overlap")) == -EBUSY
    assert request_resource(root, Resource(0xC000_0000, 0xC000_FFFF, "free space")) == 0
    window = Resource(0xFE00_0000, 0xFE00_4FFF, "soc bus")
    assert insert_resource(root, window) == 0  # adopts the five device blocks it covers
    assert [r.name for r in window.children][:2] == ["fe000000.syscon", "fe001000.serial"]
    assert "fe000000-fe004fff : soc bus\n  fe000000-fe000fff : fe000000.syscon\n" in iomem()
    assert insert_resource(root, Resource(0xFE00_4800, 0xFE01_07FF, "partial")) == -EBUSY
    assert lookup_resource(root, 0xFE00_0000) is window
    assert release_resource(window) == 0 and lookup_resource(root, 0xFE00_0000) is None


# -- ioremap -----------------------------------------------------------------------------------


def test_ioremap_of_syscon_reads_the_soc_id_and_the_uart_primecell_id(kernel: Kernel) -> None:
    syscon = ioremap(SYSCON[arch(kernel)], PAGE_SIZE)
    uart = ioremap(UART[arch(kernel)], PAGE_SIZE)
    assert syscon is not None and uart is not None
    assert readl(syscon) == SYSCON_ID
    assert readl(syscon + 4) == (1 if arch(kernel) == "armv7" else 2)  # BOARD
    assert [readl(uart + off) for off in (0xFF0, 0xFF4, 0xFF8, 0xFFC)] == [0x0D, 0xF0, 0x05, 0xB1]
    assert readl(uart + 0xFE0) & 0xFF == 0x11  # part number 0x011
    iounmap(syscon)
    iounmap(uart)


def test_ioremap_keeps_the_offset_within_the_page(kernel: Kernel) -> None:
    addr = ioremap(SYSCON[arch(kernel)] + 4, 4)
    assert addr is not None and addr % PAGE_SIZE == 4
    assert readl(addr) == (1 if arch(kernel) == "armv7" else 2)
    assert f"phys=0x{SYSCON[arch(kernel)]:08x} ioremap" in vmallocinfo()
    iounmap(addr)  # the address inside the page is fine
    assert vmallocinfo() == ""


@pytest.mark.parametrize(
    "variant, arm_type, x86_type",
    [
        (ioremap, MemType.DEVICE, MemType.STRONGLY_ORDERED),
        (ioremap_wc, MemType.NORMAL_NC, MemType.NORMAL_NC),
        (ioremap_wt, MemType.NORMAL_NC, MemType.WRITE_THROUGH),  # ARM: ioremap_wt is _wc
        (ioremap_cache, MemType.WRITE_BACK, MemType.WRITE_BACK),
    ],
)
def test_each_ioremap_variant_maps_with_its_architectures_memory_type(
    kernel: Kernel, variant: Callable[[int, int], int | None], arm_type: MemType, x86_type: MemType
) -> None:
    phys = VRAM[arch(kernel)] + 0x3000
    addr = variant(phys, 2 * PAGE_SIZE)
    assert addr is not None
    want = arm_type if arch(kernel) == "armv7" else x86_type
    assert kernel.pgtable.lookup(addr) == (phys, want)
    assert kernel.pgtable.lookup(addr + PAGE_SIZE) == (phys + PAGE_SIZE, want)


def test_ioremap_of_ram_is_refused_with_a_warning(kernel: Kernel) -> None:
    ram = kernel.machine.board.ram_base + (32 << 20)
    assert ioremap(ram, PAGE_SIZE) is None
    assert ioremap_cache(ram, PAGE_SIZE) is None
    assert f"WARNING: ioremap on RAM at 0x{ram:08x} - 0x{ram + PAGE_SIZE - 1:08x}" in (
        kernel.log_text()
    )
    assert vmallocinfo() == ""


def test_an_access_after_iounmap_is_an_oops(kernel: Kernel) -> None:
    addr = ioremap(SYSCON[arch(kernel)], PAGE_SIZE)
    assert addr is not None
    iounmap(addr)
    with pytest.raises(TranslationFault):
        readl(addr)
    assert f"Unable to handle kernel paging request at virtual address {addr:08x}" in (
        kernel.log_text()
    )


def test_iounmap_of_an_address_ioremap_never_returned_warns(kernel: Kernel) -> None:
    bogus = kernel.layout.VMALLOC_START + 0x40_0000
    iounmap(bogus)
    expected = (
        f"Trying to vunmap() nonexistent vm area ({bogus:08x})"
        if arch(kernel) == "armv7"
        else f"iounmap: bad address {bogus:08x}"
    )
    assert f"WARNING: {expected}" in kernel.log_text()


# -- accessors, barriers, bus errors -------------------------------------------------------------


def test_a_byte_read_of_a_32_bit_register_is_a_bus_error_oops_naming_device_offset_and_width(
    kernel: Kernel,
) -> None:
    syscon = ioremap(SYSCON[arch(kernel)], PAGE_SIZE)
    assert syscon is not None
    with pytest.raises(BusErrorOops) as info:
        readb(syscon + 4)
    oops = info.value
    assert (oops.device, oops.offset, oops.width, oops.is_write) == ("syscon", 4, 8, False)
    log = kernel.log_text()
    assert "BUG: bus error: 8-bit read of syscon at offset 0x004" in log
    assert "test_a_byte_read_of_a_32_bit_register_is_a_bus_error_oops" in log
    with pytest.raises(BusErrorOops, match="32-bit write of syscon at offset 0x002"):
        writel(0, syscon + 2)  # misaligned
    assert readl(syscon) == SYSCON_ID  # the CPU is not left in a fault state


def test_a_strict_kernel_raises_the_same_oops(boot_kernel) -> None:  # type: ignore[no-untyped-def]
    k = boot_kernel("armv7", 64 << 20)
    k.strict = True
    syscon = ioremap(SYSCON["armv7"], PAGE_SIZE)
    assert syscon is not None
    with pytest.raises(BusErrorOops) as info:
        readb(syscon)
    assert isinstance(info.value, KernelBug)


class RecordingDevice:
    """A stand-in register block that records what memory held when it was written to."""

    name = "recorder"

    def __init__(self, kernel: Kernel, watch: int) -> None:
        self.kernel = kernel
        self.watch = watch
        self.seen: list[bytes] = []

    def mmio_read(self, offset: int, size: int) -> int | None:
        return 0

    def mmio_write(self, offset: int, size: int, value: int) -> bool:
        self.seen.append(self.kernel.machine.bus.read(self.watch, 8))
        return True


def test_writel_drains_write_combined_stores_before_it_reaches_the_device(kernel: Kernel) -> None:
    vram_pa = VRAM[arch(kernel)]
    fb = ioremap_wc(vram_pa, PAGE_SIZE)
    regs = ioremap(REGBANK[arch(kernel)], PAGE_SIZE)
    assert fb is not None and regs is not None
    region = kernel.machine.bus.find_mmio(REGBANK[arch(kernel)])
    assert region is not None
    device = RecordingDevice(kernel, vram_pa)
    region.device = device
    kernel.mem_write(fb, b"pixels!!")  # buffered in the write-combining view
    assert kernel.machine.bus.read(vram_pa, 8) != b"pixels!!"
    writel(1, regs + 0x24)  # the doorbell: the device must see the frame
    assert device.seen == [b"pixels!!"]


def test_wmb_drains_buffered_writes_and_x86_rmb_does_not(kernel: Kernel) -> None:
    vram_pa = VRAM[arch(kernel)]
    fb = ioremap_wc(vram_pa, PAGE_SIZE)
    assert fb is not None
    bus = kernel.machine.bus
    kernel.mem_write(fb, b"one")
    rmb()
    assert (bus.read(vram_pa, 3) == b"one") == (arch(kernel) == "armv7")  # dsb vs lfence
    kernel.mem_write(fb + 8, b"two")
    wmb()
    assert bus.read(vram_pa + 8, 3) == b"two"


def test_relaxed_accessors_read_and_write_registers_and_memory_behind_a_mapping(
    kernel: Kernel,
) -> None:
    fb = ioremap_wc(VRAM[arch(kernel)], 2 * PAGE_SIZE)
    syscon = ioremap(SYSCON[arch(kernel)], PAGE_SIZE)
    assert fb is not None and syscon is not None
    writel_relaxed(0xDEADBEEF, fb + 0x10)
    assert readl_relaxed(fb + 0x10) == 0xDEADBEEF
    assert readl_relaxed(syscon) == SYSCON_ID


def test_memcpy_and_memset_io_copy_to_and_from_vram_and_register_blocks(kernel: Kernel) -> None:
    vram_pa = VRAM[arch(kernel)]
    fb = ioremap_wc(vram_pa, 2 * PAGE_SIZE)
    uart = ioremap(UART[arch(kernel)], PAGE_SIZE)
    assert fb is not None and uart is not None
    frame = bytes(range(256)) * 20  # crosses a page
    memcpy_toio(fb + 3, frame, len(frame))
    wmb()
    assert kernel.machine.bus.read(vram_pa + 3, len(frame)) == frame
    back = bytearray(len(frame))
    memcpy_fromio(back, fb + 3, len(frame))
    assert bytes(back) == frame
    memset_io(fb, 0xA5, 64)
    wmb()
    assert kernel.machine.bus.read(vram_pa, 64) == b"\xa5" * 64
    ids = bytearray(16)
    memcpy_fromio(ids, uart + 0xFF0, 16)  # 32-bit reads: the registers allow nothing else
    assert bytes(ids) == bytes([0x0D, 0, 0, 0, 0xF0, 0, 0, 0, 0x05, 0, 0, 0, 0xB1, 0, 0, 0])


# -- devres ------------------------------------------------------------------------------------


def test_devm_resources_are_released_in_reverse_order_when_the_driver_unbinds(
    kernel: Kernel,
) -> None:
    phys = REGBANK[arch(kernel)]
    dev = Device(f"{phys:x}.regbank", "soclab-regbank")
    claim = f"  {phys:08x}-{phys + 0xFFF:08x} : {dev.name}\n"
    seen: list[tuple[str, bool, bool]] = []

    def witness(name: str) -> None:
        devm_add_action(
            dev, lambda: seen.append((name, claim in iomem(), "ioremap" in vmallocinfo())), name
        )

    buf = devm_kzalloc(dev, 128, GFP_KERNEL)
    assert buf is not None and kernel.mem_read(buf, 128) == bytes(128)
    witness("after kzalloc")
    assert devm_request_mem_region(dev, phys, PAGE_SIZE, dev.name) is not None
    witness("after request_mem_region")
    regs = devm_ioremap(dev, phys, PAGE_SIZE)
    assert regs is not None
    witness("after ioremap")
    held = devres_held(dev)
    assert len(held) == 6 and held[0] == f"devm_kmalloc(128) @{buf:#010x}"
    assert claim in iomem() and "ioremap" in vmallocinfo()

    assert devres_release_all(dev) == 6
    assert seen == [
        ("after ioremap", True, True),
        ("after request_mem_region", True, False),
        ("after kzalloc", False, False),
    ]
    assert devres_held(dev) == []
    assert "BUG" not in kernel.log_text() and "WARNING" not in kernel.log_text()


def test_devm_ioremap_resource_claims_and_maps_and_a_second_claim_raises_ebusy(
    kernel: Kernel,
) -> None:
    node = next(n for n in kernel.machine.board.devices if n.name == "syscon")
    res = of_iomem_resources(node)[0]
    assert res.flags & IORESOURCE_MEM and res.name == f"{SYSCON[arch(kernel)]:x}.syscon"
    dev = Device(res.name, "soclab-syscon")
    base = devm_ioremap_resource(dev, res)
    assert readl(base) == SYSCON_ID
    assert f"  {SYSCON[arch(kernel)]:08x}-{SYSCON[arch(kernel)] + 0xFFF:08x} : {res.name}\n" in (
        iomem()
    )
    intruder = Device(res.name, "other-driver")
    with pytest.raises(ErrPtr) as info:
        devm_ioremap_resource(intruder, res)
    assert info.value.errno == -EBUSY
    assert (
        f"other-driver {res.name}: can't request region for resource "
        f"[mem 0x{res.start:08x}-0x{res.end:08x}]"
    ) in kernel.log_text()
    assert devres_held(intruder) == []
    devres_release_all(dev)
    assert devm_ioremap_resource(intruder, res) is not None


def test_devm_kfree_frees_early_and_warns_for_memory_it_does_not_manage(kernel: Kernel) -> None:
    dev = Device("test-device")
    a = devm_kmalloc(dev, 64, GFP_KERNEL)
    b = devm_kmalloc(dev, 64, GFP_KERNEL)
    assert a is not None and b is not None
    devm_kfree(dev, a)
    assert devres_held(dev) == [f"devm_kmalloc(64) @{b:#010x}"]
    devm_kfree(dev, a)
    assert f"{a:#010x} is not a devm_kmalloc() allocation of test-device" in kernel.log_text()
    devres_release_all(dev)
    assert devres_held(dev) == []
