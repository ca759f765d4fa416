"""PC devices, one per module.  A device knows its registers and its interrupt
line (a callable ``raise_irq``/``lower_irq`` given by the machine), never the bus
or the CPU back end."""
