"""What ``guise vm run --stats`` shows of a CPU back end: each kind of trap
(a unicorn hook call, a KVM exit), how many, and the host time it cost, as
one table with the same columns on both back ends.

Measuring is not free (two clock reads and a Python frame around every
unicorn hook call), so a back end only makes a :class:`TrapCosts` when
``--stats`` asks for one, and otherwise registers its handlers bare.
"""
from __future__ import annotations

import collections
import time


class TrapCosts:
    """Counts and host seconds by trap kind; for KVM also the time spent inside
    the KVM_RUN that ended with the exit (the guest's run plus the hypervisor's
    work), an extra column."""

    def __init__(self, run_call: str, extra: str = ""):
        self.counts: collections.Counter[str] = collections.Counter()
        self.seconds: collections.Counter[str] = collections.Counter()
        self.extra_name = extra
        self.extra: collections.Counter[str] = collections.Counter()
        self.run_call = run_call            # the call that runs guest code: uc_emu_start, KVM_RUN
        self.runs, self.run_seconds = 0, 0.0

    def ran(self, seconds: float) -> None:
        """One call of ``run_call`` took ``seconds`` of host time."""
        self.runs += 1
        self.run_seconds += seconds

    def add(self, kind: str, seconds: float, calls: int = 1, extra: float = 0.0) -> None:
        """``calls`` 0 adds time to a trap already counted (work its hook left for later)."""
        self.counts[kind] += calls
        self.seconds[kind] += seconds
        self.extra[kind] += extra

    def timed(self, kind: str, handler):
        """``handler`` wrapped to count and time each call as ``kind``."""
        clock, counts, seconds = time.perf_counter, self.counts, self.seconds

        def measured(*args):
            t0 = clock()
            try:
                return handler(*args)
            finally:
                seconds[kind] += clock() - t0
                counts[kind] += 1
        return measured

    def table(self, title: str) -> list[str]:
        """Lines: a header, one row per kind, the busiest first, and the time in
        the calls that ran the guest, to set the traps against."""
        head = f"{title:<24}{'count':>9}{'µs each':>10}{'ms total':>10}"
        rows = [head + (f"  {self.extra_name} (µs each)" if self.extra_name else "")]
        for kind, n in self.counts.most_common():
            s, n = self.seconds[kind], max(n, 1)
            row = f"  {kind:<22}{n:>9}{s / n * 1e6:>10.1f}{s * 1e3:>10.1f}"
            if self.extra_name:
                row += f"  {self.extra[kind] / n * 1e6:>{len(self.extra_name) + 10}.1f}"
            rows.append(row)
        if len(rows) == 1:
            rows.append("  none")
        rows.append(f"  running the guest: {self.runs} {self.run_call} calls, {self.run_seconds * 1e3:.1f} ms")
        return rows
