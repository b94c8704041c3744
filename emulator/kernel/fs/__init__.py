"""Part of the kernel model (see emulator/kernel/__init__.py)."""
