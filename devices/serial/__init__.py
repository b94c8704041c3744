"""Serial ports: the ARM PL011 UART."""
