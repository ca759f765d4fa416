"""guise: run programs built for one OS on another, on an emulated x86 CPU.

The public Python API::

    import guise
    result = guise.run(["./samples/bin/hello-static-x86_64"])
    result.exit_status, result.signal, result.syscalls
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import GuiseError

__all__ = ["run", "inspect", "GuiseError", "__version__"]


def __getattr__(name):
    """``run`` and ``inspect`` load the emulator only when first used: the command line
    starts a jail's supervisor before that, so the emulator is loaded once, in the guest."""
    if name in ("run", "inspect"):
        from . import api
        return getattr(api, name)
    raise AttributeError(name)
