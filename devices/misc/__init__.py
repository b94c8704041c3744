"""Miscellaneous blocks: the soclab system controller."""
