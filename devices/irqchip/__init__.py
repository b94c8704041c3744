"""Interrupt controllers: the ARM PL190 vectored interrupt controller."""
