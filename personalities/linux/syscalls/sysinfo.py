"""Facts about the machine: uname, sysinfo, getrandom, host name."""
from __future__ import annotations

import os
import struct

from .decl import syscall
from .util import einval


@syscall("uname", "ptr")
def sys_uname(p, buf):
    """The host's answer, with the jail's host name where it sets one (like a UTS namespace)."""
    u = os.uname()
    node = p.jail.hostname if p.jail is not None and p.jail.hostname else u.nodename
    fields = [u.sysname, node, u.release, u.version, u.machine, "(none)"]
    p.mem.write(buf, b"".join(f.encode()[:64].ljust(65, b"\0") for f in fields))
    return 0


@syscall("sysinfo", "ptr")
def sys_sysinfo(p, buf):
    with open("/proc/uptime") as f:
        uptime = int(float(f.read().split()[0]))
    loads = [int(x * 65536) for x in os.getloadavg()]
    mem = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            mem[k] = int(v.split()[0]) * 1024
    L = "q" if p.abi.bits == 64 else "i"
    UL = "Q" if p.abi.bits == 64 else "I"
    unit = 1 if p.abi.bits == 64 else 4096          # 32-bit longs cannot hold byte counts
    sizes = [mem.get(k, 0) // unit for k in ("MemTotal", "MemFree", "Shmem", "Buffers",
                                             "SwapTotal", "SwapFree")]
    procs = sum(1 for d in os.listdir("/proc") if d.isdigit())
    # procs and its pad are followed by longs: 4 bytes of alignment on x86-64 only
    align = "4x" if p.abi.bits == 64 else ""
    fmt = struct.Struct(f"<{L}3{UL}6{UL}HH{align}{UL}{UL}I")
    data = fmt.pack(uptime, *loads, *sizes, min(procs, 0xFFFF), 0, 0, 0, unit)
    p.mem.write(buf, data.ljust(64 if p.abi.bits == 32 else 112, b"\0"))
    return 0


@syscall("getrandom", "obuf", "size", "hex")
def sys_getrandom(p, buf, count, flags):
    if flags & ~7:
        raise einval()
    data = os.urandom(min(count, 1 << 25))
    p.mem.write(buf, data)
    return len(data)


@syscall("sethostname", "str", "size")
def sys_sethostname(p, name, length):
    raise OSError(1, "Operation not permitted")
