"""Which emulated module answers an imported DLL name: API sets and aliases.

Windows 7+ programs import ``api-ms-win-crt-stdio-l1-1-0.dll`` and friends,
which the loader redirects to the DLL that hosts them (ucrtbase, kernelbase).
Here every such name maps to the module that holds the emulation.  This is
the only table of that mapping.
"""
from __future__ import annotations

# prefix of an API-set name (lower case, without the version) -> emulated module
API_SETS = {
    "api-ms-win-crt-": "ucrtbase.dll",
    "api-ms-win-core-": "kernel32.dll",
    "api-ms-win-security-": "kernel32.dll",
    "ext-ms-win-": "kernel32.dll",
}
# whole-name aliases (lower case)
ALIASES = {
    "kernelbase.dll": "kernel32.dll",
    "msvcr100.dll": "msvcrt.dll",
    "msvcr110.dll": "msvcrt.dll",
    "msvcr120.dll": "msvcrt.dll",
}


def canonical(dll: str) -> str:
    """The emulated module's file name for an imported DLL name (lower case)."""
    name = dll.lower()
    if not name.endswith(".dll"):
        name += ".dll"
    if name in ALIASES:
        return ALIASES[name]
    for prefix, module in API_SETS.items():
        if name.startswith(prefix):
            return module
    return name
