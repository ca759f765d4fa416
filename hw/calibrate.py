"""How fast each CPU back end runs guest code on this host, measured with a
small calibration guest and cached.

The guest is a counted loop (``dec rcx; jnz``) in 64-bit long mode, entered
the way the Linux boot protocol enters a kernel, on the same ``PcMachine``
and back end a real guest gets; it powers off through port 0xf4 when the
count runs out.  The loop count grows until a run takes ``seconds``, so a
back end 1000x slower than another (a software KVM next to unicorn) is still
measured in about that time.  Guest instructions per second = 2 x count /
the run's wall time (setup excluded, the run loop's own work included).

Results are cached in ``$XDG_CACHE_HOME/guise/vm-calibration.json`` (or
``~/.cache``) under a key made of the host (name, CPU model, kernel release,
KVM kind) and the versions (guise, unicorn, Python), so a new kernel, CPU or
library measures again.  ``guise vm run --backend auto`` reads it, measuring
briefly the first time.
"""
from __future__ import annotations

import json
import os
import platform
import struct
import sys
import time
from typing import Optional

BACKENDS = ("unicorn", "kvm")
RAM = 4 << 20
PML4, CODE = 0x1000, 0x10000
LOOP = bytes.fromhex("48ffc9" "75fb" "e6f4" "f4")     # 1: dec rcx; jnz 1b; out al, 0xf4; hlt
GDT = 0x500
FIRST_COUNT = {"unicorn": 1 << 20, "kvm": 1 << 14}


def _identity_map() -> bytes:
    """PML4 -> PDPT -> PD with one 2 MiB page: virtual 0-2 MiB = physical 0-2 MiB."""
    return (struct.pack("<Q", PML4 + 0x1003).ljust(0x1000, b"\0") +
            struct.pack("<Q", PML4 + 0x2003).ljust(0x1000, b"\0") +
            struct.pack("<Q", 0x83).ljust(0x1000, b"\0"))


def _run_loop(backend: str, count: int) -> float:
    """Wall time of one run of the loop ``count`` times."""
    from .machine import PcMachine
    m = PcMachine(RAM, lambda data: None, long_mode=True, backend=backend)
    try:
        m.write(PML4, _identity_map())
        m.write(GDT, struct.pack("<4Q", 0, 0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF))
        m.write(CODE, LOOP)
        m.cpu.enter_long_mode(PML4, CODE, {"rcx": count, "rax": 0}, 0x10, 0x18, (GDT, 31))
        t0 = time.perf_counter()
        end = m.run(timeout=60)
        took = time.perf_counter() - t0
    finally:
        m.cpu.close()
    if end.reason != "poweroff":
        raise RuntimeError(f"the calibration loop on {backend} ended with {end.reason}: {end.detail}")
    return took


def measure(backend: str, seconds: float = 0.2) -> float:
    """Guest instructions per second of ``backend`` (raises KvmError where KVM cannot run)."""
    count = FIRST_COUNT[backend]
    while True:
        took = _run_loop(backend, count)
        if took >= seconds or count >= 1 << 40:
            return 2 * count / took
        count = int(count * min(max(2 * seconds / max(took, 1e-4), 2), 64))


def cache_path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "guise", "vm-calibration.json")


def host_key() -> str:
    from guise import __version__
    import unicorn
    from .kvm.host import kvm_kind
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return " | ".join([platform.node(), model, platform.release(), kvm_kind().kind,
                       f"guise {__version__}", f"unicorn {unicorn.__version__}",
                       f"python {sys.version_info.major}.{sys.version_info.minor}"])


def _load() -> dict:
    try:
        with open(cache_path()) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def cached() -> Optional[dict]:
    """{backend: instructions/s or None (cannot run here), "when": epoch} for this host, if measured."""
    entry = _load().get(host_key())
    return entry if isinstance(entry, dict) and all(b in entry for b in BACKENDS) else None


def calibrate(seconds: float = 0.2) -> dict:
    """Measure every back end now and cache the result; a back end that cannot
    run here gets None and its reason under "<backend> error"."""
    from .kvm import KvmError
    entry: dict = {"when": time.time(), "seconds": seconds}
    for backend in BACKENDS:
        try:
            entry[backend] = measure(backend, seconds)
        except (KvmError, RuntimeError) as e:
            entry[backend], entry[f"{backend} error"] = None, str(e)
    data = _load()
    data[host_key()] = entry
    path = cache_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except OSError:
        pass                    # a read-only home: measure again next time
    return entry


def fastest(entry: dict) -> str:
    speeds = {b: entry.get(b) for b in BACKENDS if entry.get(b)}
    return max(speeds, key=speeds.get) if speeds else "unicorn"
