"""soclab: an emulated ARMv7 / x86-32 SoC whose data-cache model makes coherence bugs visible."""

__version__ = "0.1.0"
