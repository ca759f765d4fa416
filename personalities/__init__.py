"""OS personalities, found through the ``guise.personalities`` entry-point group.

A personality is chosen from the loaded image's format and ABI.  Third-party
packages add one by declaring an entry point in that group whose object has
``name``, ``accepts(image) -> bool`` and ``start(image, ...)``.
"""
from __future__ import annotations

from importlib.metadata import entry_points

BUILTIN = {"linux": "personalities.linux:PERSONALITY"}


def _load(ref: str):
    mod, _, attr = ref.partition(":")
    module = __import__(mod, fromlist=[attr])
    return getattr(module, attr)


def available() -> dict:
    """Name -> personality object, built-ins first, then installed plug-ins."""
    found = {name: ref for name, ref in BUILTIN.items()}
    try:
        for ep in entry_points(group="guise.personalities"):
            found.setdefault(ep.name, ep.value)
    except Exception:   # broken third-party metadata must not stop guise
        pass
    return found


def choose(image):
    """The personality that runs ``image``, or None."""
    for name, ref in available().items():
        pers = _load(ref)
        if pers.accepts(image):
            return pers
    return None
