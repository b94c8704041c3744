"""Device models of the soclab SoC, one module per part: ``devices/<class>/<vendor>_<model>.py``.

``MODELS`` is the catalog the board builder uses: it maps a devicetree ``compatible`` string to
the `SysBusDevice` subclass that models it. A node is bound to the model of its first
compatible string found here; generic compatibles (``arm,primecell``) have no entry.
"""

from __future__ import annotations

from devices.irqchip.arm_pl190 import ArmPl190Vic
from devices.misc.soclab_syscon import SoclabSyscon
from devices.serial.arm_pl011 import ArmPl011
from devices.timer.soclab_timer import SoclabTimer
from emulator.device import SysBusDevice

MODELS: dict[str, type[SysBusDevice]] = {
    "soclab,syscon": SoclabSyscon,
    "arm,pl011": ArmPl011,
    "soclab,timer": SoclabTimer,
    "arm,pl190-vic": ArmPl190Vic,
}
