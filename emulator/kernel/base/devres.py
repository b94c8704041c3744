"""Managed device resources: drivers/base/devres.c, lib/devres.c, kernel/resource.c (devm_*).

A driver's probe takes what it needs with `devm_*` calls; each records a release action on the
device's devres list, and `devres_release_all(dev)` (called by the driver core when the driver
unbinds, or when probe fails) runs them in reverse order, so a probe needs no goto ladder and a
remove() no mirror image of it. `devres_held(dev)` lists what a device still holds: after an
unbind it must be empty, which is what a leak test asserts.

Errors: Linux returns `ERR_PTR(-errno)` from devm_ioremap_resource() and the driver writes
`if (IS_ERR(base)) return PTR_ERR(base);`. Here the call *raises* `ErrPtr(-errno)`, an
exception carrying the same negative errno (`PTR_ERR(e)` reads it): probe code simply lets it
propagate, and the driver core turns it into "probe of <dev> failed with error -16". Calls
that return NULL on Linux (devm_kmalloc, devm_ioremap, devm_request_mem_region) return None.

`Device` is a minimal `struct device`: its name (dev_name), the bound driver's name (for
dev_err's prefix) and the devres list; the platform bus will build on it.

Not modelled: devres groups, devm_*_release ordering across groups, CONFIG_DEBUG_DEVRES logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.kernel.core import KERN_ERR, current_kernel
from emulator.kernel.gfp import __GFP_ZERO
from emulator.kernel.mm.ioremap import ioremap, ioremap_wc, iounmap
from emulator.kernel.mm.slab import ZERO_SIZE_PTR, kfree, kmalloc
from emulator.kernel.resource import (
    IORESOURCE_MEM,
    Resource,
    __release_region,
    __request_region,
    format_resource,
    iomem_resource,
    resource_size,
    resource_type,
)

EBUSY, ENOMEM, EINVAL, ENODEV = 16, 12, 22, 19


class ErrPtr(Exception):  # noqa: N818 - named after Linux's ERR_PTR
    """ERR_PTR(-errno), raised: a devm_* call failed with a negative errno."""

    def __init__(self, errno: int, message: str = "") -> None:
        super().__init__(message or f"error {errno}")
        self.errno = errno


def PTR_ERR(err: ErrPtr) -> int:  # noqa: N802 - Linux's name
    return err.errno


@dataclass(eq=False)
class Devres:
    """One managed resource: what releases it, and what it is (for matching and leak lists)."""

    kind: str  # the devm_* call that took it
    key: object  # what devm_kfree / devm_iounmap / devm_release_mem_region match on
    description: str
    release: Callable[[], None]


@dataclass(eq=False)
class Device:
    """struct device, the part devres needs."""

    name: str
    driver_name: str | None = None
    devres: list[Devres] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name


def dev_name(dev: Device) -> str:
    return dev.name


def dev_err(dev: Device, message: str) -> None:
    """dev_err(): "<driver> <device>: message" at KERN_ERR."""
    current_kernel().printk(KERN_ERR, f"{dev.driver_name or 'platform'} {dev.name}: {message}")


def devres_add(dev: Device, dr: Devres) -> None:
    dev.devres.append(dr)


def _devres_remove(dev: Device, kind: str, key: object) -> Devres | None:
    for i in range(len(dev.devres) - 1, -1, -1):
        dr = dev.devres[i]
        if dr.kind == kind and dr.key == key:
            return dev.devres.pop(i)
    return None


def devres_release_all(dev: Device) -> int:
    """devres_release_all(): release everything the device holds, newest first; returns how
    many resources were released."""
    count = 0
    while dev.devres:
        dev.devres.pop().release()
        count += 1
    return count


def devres_held(dev: Device) -> list[str]:
    """What the device still holds, oldest first ("devm_kmalloc(64) @0xc1000040", ...)."""
    return [dr.description for dr in dev.devres]


def devm_add_action(dev: Device, action: Callable[[], None], name: str = "action") -> int:
    """devm_add_action(): run `action` when the device's resources are released."""
    devres_add(dev, Devres("devm_add_action", action, f"devm_add_action({name})", action))
    return 0


# -- memory ---------------------------------------------------------------------------------


def devm_kmalloc(dev: Device, size: int, gfp: int) -> int | None:
    """devm_kmalloc(): kmalloc() freed when the driver unbinds."""
    if size == 0:
        return ZERO_SIZE_PTR
    addr = kmalloc(size, gfp)
    if addr is None:
        return None
    devres_add(
        dev,
        Devres("devm_kmalloc", addr, f"devm_kmalloc({size}) @{addr:#010x}", lambda: kfree(addr)),
    )
    return addr


def devm_kzalloc(dev: Device, size: int, gfp: int) -> int | None:
    """devm_kzalloc(): devm_kmalloc() zeroed."""
    return devm_kmalloc(dev, size, gfp | __GFP_ZERO)


def devm_kfree(dev: Device, addr: int | None) -> None:
    """devm_kfree(): free a devm_kmalloc() allocation early."""
    if addr is None or addr == ZERO_SIZE_PTR:
        return
    dr = _devres_remove(dev, "devm_kmalloc", addr)
    if dr is None:
        current_kernel().warn(
            f"WARN_ON(rc) in devm_kfree (drivers/base/devres.c): {addr:#010x} is not a "
            f"devm_kmalloc() allocation of {dev.name}"
        )
        return
    dr.release()


# -- ioremap ---------------------------------------------------------------------------------


def _devm_ioremap(
    dev: Device, offset: int, size: int, mapper: Callable[[int, int], int | None], kind: str
) -> int | None:
    addr = mapper(offset, size)
    if addr is None:
        return None
    devres_add(
        dev,
        Devres(
            "devm_ioremap",
            addr,
            f"{kind}(0x{offset:08x}, {size:#x}) @{addr:#010x}",
            lambda: iounmap(addr),
        ),
    )
    return addr


def devm_ioremap(dev: Device, offset: int, size: int) -> int | None:
    """devm_ioremap(): ioremap() undone when the driver unbinds; None on failure."""
    return _devm_ioremap(dev, offset, size, ioremap, "devm_ioremap")


def devm_ioremap_wc(dev: Device, offset: int, size: int) -> int | None:
    """devm_ioremap_wc(): ioremap_wc() undone when the driver unbinds."""
    return _devm_ioremap(dev, offset, size, ioremap_wc, "devm_ioremap_wc")


def devm_iounmap(dev: Device, addr: int) -> None:
    """devm_iounmap(): undo a devm_ioremap() early."""
    dr = _devres_remove(dev, "devm_ioremap", addr)
    if dr is None:
        current_kernel().warn(
            f"WARN_ON(devres_destroy(...)) in devm_iounmap (lib/devres.c): {addr:#010x} is "
            f"not a devm_ioremap() of {dev.name}"
        )
        return
    dr.release()


# -- I/O memory regions ----------------------------------------------------------------------


def devm_request_mem_region(dev: Device, start: int, n: int, name: str) -> Resource | None:
    """devm_request_mem_region(): request_mem_region() released when the driver unbinds."""
    root = iomem_resource()
    res = __request_region(root, start, n, name)
    if res is None:
        return None
    devres_add(
        dev,
        Devres(
            "devm_request_mem_region",
            (start, n),
            f"devm_request_mem_region({start:08x}-{start + n - 1:08x} : {name})",
            lambda: __release_region(root, start, n),
        ),
    )
    return res


def devm_release_mem_region(dev: Device, start: int, n: int) -> None:
    """devm_release_mem_region(): give a devm_request_mem_region() claim back early."""
    dr = _devres_remove(dev, "devm_request_mem_region", (start, n))
    if dr is None:
        __release_region(iomem_resource(), start, n)
        current_kernel().warn(
            "WARN_ON(devres_destroy(...)) in __devm_release_region (kernel/resource.c): "
            f"{start:08x}-{start + n - 1:08x} was not requested by {dev.name}"
        )
        return
    dr.release()


def devm_ioremap_resource(dev: Device, res: Resource | None) -> int:
    """devm_ioremap_resource(): request the resource's region, then ioremap it; both undone
    when the driver unbinds. Failure raises ErrPtr (-EINVAL bad resource, -EBUSY region
    already claimed, -ENOMEM ioremap failed) after the dev_err Linux prints."""
    if res is None or resource_type(res) != IORESOURCE_MEM:
        dev_err(dev, f"invalid resource {format_resource(res) if res else '(null)'}")
        raise ErrPtr(-EINVAL, "invalid resource")
    size = resource_size(res)
    name = dev.name if not res.name or res.name == dev.name else f"{dev.name} {res.name}"
    if devm_request_mem_region(dev, res.start, size, name) is None:
        dev_err(dev, f"can't request region for resource {format_resource(res)}")
        raise ErrPtr(-EBUSY, f"can't request region for resource {format_resource(res)}")
    addr = devm_ioremap(dev, res.start, size)
    if addr is None:
        dev_err(dev, f"ioremap failed for resource {format_resource(res)}")
        devm_release_mem_region(dev, res.start, size)
        raise ErrPtr(-ENOMEM, f"ioremap failed for resource {format_resource(res)}")
    return addr
