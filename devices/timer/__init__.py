"""Timers: the soclab 1 MHz compare timer."""
