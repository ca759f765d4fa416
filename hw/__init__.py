"""The machine layer: CPU back ends, guest memory and (later) devices.

Nothing in here knows about files, processes or system calls.
"""
