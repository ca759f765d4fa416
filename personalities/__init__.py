"""OS personalities, found through the ``guise.personalities`` entry-point group.

A personality is chosen from the loaded image's format and ABI.  Third-party
packages add one by declaring an entry point in that group whose object has
``name``, ``accepts(image) -> bool`` and ``start(image, ...)``.
"""
from __future__ import annotations

BUILTIN = {"linux": "personalities.linux:PERSONALITY", "windows": "personalities.windows:PERSONALITY"}


def _load(ref: str):
    mod, _, attr = ref.partition(":")
    module = __import__(mod, fromlist=[attr])
    return getattr(module, attr)


def plugins() -> dict:
    """Name -> 'module:attr' of personalities installed by other packages."""
    from importlib.metadata import entry_points     # slow to import: only when needed
    found = {}
    try:
        for ep in entry_points(group="guise.personalities"):
            if ep.name not in BUILTIN:
                found[ep.name] = ep.value
    except Exception:   # broken third-party metadata must not stop guise
        pass
    return found


def choose(image):
    """The personality that runs ``image``: built-ins first, then plug-ins, else None."""
    for refs in (BUILTIN, None):
        for ref in (refs if refs is not None else plugins()).values():
            pers = _load(ref)
            if pers.accepts(image):
                return pers
    return None
