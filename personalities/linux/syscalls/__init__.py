"""Linux system-call handlers, one module per family.

Importing this package registers every handler in ``decl.REGISTRY``; the
dispatcher then builds one table per ABI from ``personalities.linux.numbers``.
"""
from . import decl  # noqa: F401
from . import files, fsmeta, memory, process, identity, time, sysinfo, poll, signals, futex, xattr, lifecycle, net, events  # noqa: F401

REGISTRY = decl.REGISTRY
