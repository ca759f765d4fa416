"""Placing an Image's segments into an address space.

The address space is duck-typed: ``map(start, size, prot, name=..., offset=...)``
and ``cpu.mem_write`` are all that is used, so the Linux process model and the
Windows one share this.
"""
from __future__ import annotations

from hw.cpu import PAGE_SIZE, PROT_WRITE, page_down, page_up
from .image import Image


def page_prots(image: Image, bias: int) -> dict[int, int]:
    """Protection of every page the image touches (a page shared by two segments gets both)."""
    prots: dict[int, int] = {}
    for seg in image.segments:
        if seg.memsz == 0:
            continue
        for page in range(page_down(bias + seg.vaddr), page_up(bias + seg.vaddr + seg.memsz), PAGE_SIZE):
            prots[page] = prots.get(page, 0) | seg.prot
    return prots


def map_image(image: Image, space, bias: int, name: str = "", dev: int = 0, inode: int = 0) -> None:
    """Map all PT_LOAD-style segments at ``bias`` and copy their file bytes in.

    Pages are first mapped writable so the bytes can be copied, then given
    their final protection, merging runs of pages with equal protection into one
    mapping as Linux's /proc/self/maps shows them.
    """
    prots = page_prots(image, bias)
    runs: list[list[int]] = []
    for page in sorted(prots):
        if runs and runs[-1][1] == page and runs[-1][2] == prots[page]:
            runs[-1][1] = page + PAGE_SIZE
        else:
            runs.append([page, page + PAGE_SIZE, prots[page]])
    offsets = {}
    for seg in image.segments:
        offsets[page_down(bias + seg.vaddr)] = page_down(seg.offset)
    for start, end, prot in runs:
        space.map(start, end - start, prot | PROT_WRITE, name=name, offset=offsets.get(start, 0),
                  dev=dev, inode=inode)
    for seg in image.segments:
        if seg.filesz:
            space.cpu.mem_write(bias + seg.vaddr, seg.data)
    for start, end, prot in runs:
        if not prot & PROT_WRITE:
            space.protect(start, end - start, prot)
