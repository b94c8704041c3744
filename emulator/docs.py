"""Render the register maps of every device model as Markdown: `python -m emulator.docs`.

docs/registers.md is generated from the register blocks themselves, so the documentation is
the code; a test fails if the file falls behind.
"""

from __future__ import annotations

import sys
from pathlib import Path

from devices import MODELS


def render() -> str:
    parts = [
        "# Register maps",
        "",
        "Generated from the device models' register blocks by `python -m emulator.docs`;",
        "do not edit by hand. Access kinds follow SOC-DATASHEET.md §1. Offsets no register",
        "occupies read as 0, ignore writes and are reported once as guest errors.",
    ]
    seen: set[type] = set()
    for compatible, model in sorted(MODELS.items()):
        if model in seen:
            continue
        seen.add(model)
        doc = (model.__module__ and sys.modules[model.__module__].__doc__ or "").strip()
        title = doc.splitlines()[0] if doc else model.__name__
        parts += ["", f"## `{compatible}` — {model.__name__}", "", title, "", model.Regs.table()]
    return "\n".join(parts) + "\n"


def main() -> None:
    out = Path(__file__).resolve().parent.parent / "docs" / "registers.md"
    out.write_text(render())
    print(out)


if __name__ == "__main__":
    main()
