"""The emulated system DLLs, one table module per DLL (``kernel32``, ``msvcrt``, ``ucrtbase``, ``ntdll``).

``find_dll`` takes the canonical lower-case name (see ``apisets.canonical``).
"""
from __future__ import annotations

import importlib

MODULES = {"kernel32.dll": "kernel32", "msvcrt.dll": "msvcrt", "ucrtbase.dll": "ucrtbase",
           "ntdll.dll": "ntdll", "user32.dll": "user32", "advapi32.dll": "advapi32",
           "shell32.dll": "shell32", "shlwapi.dll": "shlwapi"}


def find_dll(canonical: str):
    mod = MODULES.get(canonical)
    if mod is None:
        return None
    return importlib.import_module(f"{__name__}.{mod}").DLL


def all_dlls():
    return [find_dll(name) for name in MODULES]
