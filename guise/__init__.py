"""guise: run programs built for one OS on another, on an emulated x86 CPU.

The public Python API::

    import guise
    result = guise.run(["./samples/bin/hello-static-x86_64"])
    result.exit_status, result.signal, result.syscalls
"""
from __future__ import annotations

__version__ = "0.1.0"

from .api import run, inspect, GuiseError

__all__ = ["run", "inspect", "GuiseError", "__version__"]
