"""Executable loaders: turn a file object into an :class:`Image`.

The loader never opens host paths itself: the sandbox hands it an open file.
"""
from .errors import LoaderError
from .image import Image, Segment, TlsTemplate
from .detect import detect_format, load_image

__all__ = ["LoaderError", "Image", "Segment", "TlsTemplate", "detect_format", "load_image"]
