"""Drivers built into the kernel model (drivers/ in Linux): char/ (mem, misc), tty/ (console)."""
