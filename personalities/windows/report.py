"""What ``guise info`` says about a PE program: its headers and its imports grouped
by DLL, each marked as guise implements it, implements in part, or not at all
(the program would stop at the first call of a missing one)."""
from __future__ import annotations

from loader.pe import SUBSYSTEMS
from . import apisets
from .dlls import find_dll


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


def describe(image) -> list[tuple[str, str]]:
    info = image.details["pe"]
    rows = [("format", "PE32+" if image.bits == 64 else "PE32"),
            ("machine", image.arch),
            ("type", "DLL" if info.is_dll else "program"),
            ("subsystem", SUBSYSTEMS.get(info.subsystem, str(info.subsystem))),
            ("image base", hex(info.image_base)),
            ("entry", hex(info.image_base + image.entry)),
            ("relocations", str(len(info.relocations))),
            ("TLS", f"yes, {len(info.tls.callbacks)} callback(s)" if info.tls else "no")]
    missing = 0
    for imp in info.imports:
        marks = []
        for e in imp.entries:
            st = import_status(imp.dll, e.name, e.ordinal)
            missing += st == "missing"
            marks.append(f"{e.label}{'' if st == 'implemented' else ' [' + st + ']'}")
        key = f"imports {imp.dll}" + (" (delay-load)" if imp.delayed else "")
        rows.append((key, f"{len(imp.entries)}: " + ", ".join(marks)))
    rows.append(("missing imports", str(missing)))
    return rows
