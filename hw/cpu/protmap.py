"""Which guest pages are mapped, and with what protection, as the CPU back end knows them.

Unicorn's default TLB takes page permissions from the emulated x86 MMU.  User-mode
guests run without guest paging, so that MMU calls every page read/write/execute, and
unicorn then keeps every page "not dirty" in the TLB because it might hold code: every
guest store leaves translated code for a slow helper (about 20 ns against 1 ns for a
load, measured with unicorn 2.1.4).  Filling the TLB ourselves from this map gives a
data page no execute right, so its stores run at full speed after the first one, while
code pages keep the careful path that self-modifying code needs.
"""
from __future__ import annotations

import bisect


class ProtMap:
    """Disjoint [start, end) ranges with a permission value each, kept sorted."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.perms: list[int] = []

    def lookup(self, addr: int) -> int | None:
        """The permission value covering ``addr``, or None where nothing is mapped."""
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0 and addr < self.ends[i]:
            return self.perms[i]
        return None

    def set(self, start: int, end: int, perms: int | None) -> None:
        """Give [start, end) the value ``perms``; None removes the range."""
        if start >= end:
            return
        # cut the ranges overlapping [start, end), keeping their outer parts
        lo = bisect.bisect_right(self.ends, start)
        hi = bisect.bisect_left(self.starts, end)
        keep = []
        if lo < hi:
            if self.starts[lo] < start:
                keep.append((self.starts[lo], start, self.perms[lo]))
            if self.ends[hi - 1] > end:
                keep.append((end, self.ends[hi - 1], self.perms[hi - 1]))
        if perms is not None:
            keep.append((start, end, perms))
        keep.sort()
        self.starts[lo:hi] = [k[0] for k in keep]
        self.ends[lo:hi] = [k[1] for k in keep]
        self.perms[lo:hi] = [k[2] for k in keep]

    def update(self, start: int, end: int, perms: int) -> None:
        """Set ``perms`` only where [start, end) is already mapped (mprotect)."""
        lo = bisect.bisect_right(self.ends, start)
        hi = bisect.bisect_left(self.starts, end)
        for s, e in [(self.starts[i], self.ends[i]) for i in range(lo, hi)]:
            self.set(max(s, start), min(e, end), perms)

    def ranges_with(self, bit: int) -> list[tuple[int, int]]:
        """The [start, end) spans whose permission has ``bit``, adjacent ones merged."""
        out: list[tuple[int, int]] = []
        for start, end, perms in zip(self.starts, self.ends, self.perms):
            if perms & bit:
                if out and out[-1][1] == start:
                    out[-1] = (out[-1][0], end)
                else:
                    out.append((start, end))
        return out
