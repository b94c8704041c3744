"""TTY drivers (drivers/tty/): the system console and the first serial port."""
