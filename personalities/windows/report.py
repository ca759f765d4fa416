"""What ``guise info`` says about a PE program: its headers and its imports grouped
by DLL, each marked as guise implements it, implements in part, or not at all
(the program would stop at the first call of a missing one).

A DLL guise does not emulate is looked for where the program would find it (next
to it, in the prefix's System32, the current directory, the default PATH): one
found there is a program DLL, loaded as it is; one of Windows' own is missing
export by export; any other is a missing DLL, and the program would not start."""
from __future__ import annotations

import os

from loader.pe import SUBSYSTEMS
from . import apisets, modules
from .dlls import find_dll
from .paths import PathMapper
from .sysdlls import is_system_dll

GUEST_PATH = "C:\\Windows\\system32;C:\\Windows"     # a guest's PATH when it starts


def import_status(dll: str, name: str | None, ordinal: int | None) -> str:
    table = find_dll(apisets.canonical(dll))
    if table is None:
        return "missing"
    if name is None:
        name = table.ordinals.get(ordinal)
    exp = table.exports.get(name) if name is not None else None
    if exp is None or (exp.impl is None and not exp.data):
        return "missing"
    return "partial" if exp.level == "partial" else "implemented"


def dll_finder(image, fs):
    """dll name -> the Windows path of the program DLL that a run would load, or None.
    The prefix is only read: without one, its directories are not searched."""
    paths = PathMapper(fs)
    exe = paths.to_windows(image.details.get("resolved") or b".")
    try:
        fs.stat(paths.prefix)
        dirs = modules.search_dirs(paths, exe, GUEST_PATH)
    except OSError:
        dirs = [d for d in modules.search_dirs(paths, exe, None) if not d.upper().startswith("C:")]

    def find(dll: str):
        found = modules.find_file(paths, modules.file_name(dll), dirs)
        return None if found is None or modules.is_wine_builtin(found[1]) else found[0]
    return find


def _dll_label(dll: str, find) -> tuple[str, str | None, str]:
    """(what the DLL is, the status its imports get if not the emulation's, where it is)."""
    if find_dll(apisets.canonical(dll)) is not None:
        return "", None, ""
    path = find(dll) if find is not None else None
    if path is not None:
        return " (program DLL)", "program DLL", f" (from {path})"
    if is_system_dll(dll):
        return "", None, ""
    return " (DLL not found)", "missing", " (the program cannot start without it)"


def describe(image, find=None) -> list[tuple[str, str]]:
    """The rows ``guise info`` prints; ``find`` locates program DLLs (``dll_finder``)."""
    info = image.details["pe"]
    rows = [("format", "PE32+" if image.bits == 64 else "PE32"),
            ("machine", image.arch),
            ("type", "DLL" if info.is_dll else "program"),
            ("subsystem", SUBSYSTEMS.get(info.subsystem, str(info.subsystem))),
            ("image base", hex(info.image_base)),
            ("entry", hex(info.image_base + image.entry)),
            ("relocations", str(len(info.relocations))),
            ("TLS", f"yes, {len(info.tls.callbacks)} callback(s)" if info.tls else "no")]
    missing, lost = 0, []
    for imp in info.imports:
        label, status, where = _dll_label(imp.dll, find)
        if status == "missing" and not imp.delayed:
            lost.append(imp.dll)
        marks = []
        for e in imp.entries:
            st = status or import_status(imp.dll, e.name, e.ordinal)
            missing += st == "missing"
            marks.append(f"{e.label}{'' if st in ('implemented', 'program DLL') else ' [' + st + ']'}")
        key = f"imports {imp.dll}" + (" (delay-load)" if imp.delayed else "") + label
        rows.append((key, f"{len(imp.entries)}: " + ", ".join(marks) + where))
    rows.append(("missing imports", str(missing)))
    if lost:
        rows.append(("missing DLLs", ", ".join(lost)))
    return rows
