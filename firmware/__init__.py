"""Guest firmware for soclab: sources and the build script (firmware.build).

Bare-metal C and assembly programs for the soclab-armv7 and soclab-x86 boards
(SOC-DATASHEET.md §5), a small per-architecture runtime (crt0, vectors / IDT,
console printf) and `firmware.build.build(name, arch)`, which compiles one
program with the pip-installed Zig toolchain into a cached static ELF.
"""
