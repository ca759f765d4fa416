"""Format detection by magic bytes, and the one entry point ``load_image``."""
from __future__ import annotations

import os
from io import BufferedIOBase

from .errors import LoaderError
from .image import Image

MAX_IMAGE_SIZE = 1 << 31


def detect_format(head: bytes) -> str:
    if head[:4] == b"\x7fELF":
        return "elf"
    if head[:2] == b"MZ":
        return "pe"
    if head[:2] == b"#!":
        return "script"
    return "unknown"


def load_image(f: BufferedIOBase, path: str = "") -> Image:
    """Parse the executable in ``f``; raise LoaderError with a one-line reason."""
    try:
        data = f.read(MAX_IMAGE_SIZE + 1)
    except OSError as e:
        raise LoaderError(f"{path}: cannot read: {e.strerror}") from None
    if len(data) > MAX_IMAGE_SIZE:
        raise LoaderError(f"{path}: file too large to load")
    fmt = detect_format(data[:4])
    if fmt == "elf":
        from .elf import parse_elf
        image = parse_elf(data, path)
        try:
            st = os.fstat(f.fileno())
            image.details.update(dev=st.st_dev, inode=st.st_ino)
        except (OSError, AttributeError, ValueError):
            pass
        return image
    if fmt == "pe":
        from .pe import parse_pe
        return parse_pe(data, path)
    if fmt == "script":
        raise LoaderError(f"{path}: is a '#!' script; run its interpreter instead")
    raise LoaderError(f"{path}: unknown executable format")
