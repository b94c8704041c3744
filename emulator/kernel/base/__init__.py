"""The driver core: drivers/base/ (device resource management, and later the platform bus).

`devres.py` models managed device resources (drivers/base/devres.c, lib/devres.c): memory,
ioremaps and I/O memory regions a driver takes with the `devm_*` calls are tied to the
device and released, in reverse order, when the driver unbinds.
"""
