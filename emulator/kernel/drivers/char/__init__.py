"""Character drivers (drivers/char/): the memory devices and the misc major."""
