"""What ``guise info`` says about a PE program: its headers and its imports grouped
by DLL, each marked as guise implements it, implements in part, or not at all
(the program would stop at the first call of a missing one).

A DLL guise does not emulate is looked for where the program would find it (next
to it, in the prefix's System32, the current directory, the default PATH): one
found there is a program DLL, loaded as it is (an import it does not export is
missing, and stops the start); one of Windows' own is missing export by export;
any other is a missing DLL, and the program would not start."""
from __future__ import annotations

from loader.errors import LoaderError
from loader.pe import SUBSYSTEMS, parse_pe
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
    """dll name -> (Windows path, its PeInfo or None if it does not parse) of the program
    DLL a run would load, or None.  The prefix is only read: without one, its
    directories are not searched."""
    paths = PathMapper(fs)
    exe = paths.to_windows(image.details.get("resolved") or b".")
    try:
        fs.stat(paths.prefix)
        dirs = modules.search_dirs(paths, exe, GUEST_PATH)
    except OSError:
        dirs = [d for d in modules.search_dirs(paths, exe, None) if not d.upper().startswith("C:")]

    def find(dll: str):
        found = modules.find_file(paths, modules.file_name(dll), dirs)
        if found is None or modules.is_wine_builtin(found[1]):
            return None
        try:
            return found[0], parse_pe(found[1], found[0]).details["pe"]
        except LoaderError:
            return found[0], None
    return find


def _classify(dll: str, find):
    """(label after the DLL's name, note after its imports, import -> status)."""
    if find_dll(apisets.canonical(dll)) is not None:
        return "", "", lambda name, ordinal: import_status(dll, name, ordinal)
    found = find(dll) if find is not None else None
    if found is not None:
        path, pe = found
        if pe is None:
            return " (program DLL, not loadable)", f" (from {path})", lambda name, ordinal: "missing"
        return " (program DLL)", f" (from {path})", lambda name, ordinal: (
            "program DLL" if (pe.exports if name is not None else pe.export_ordinals).get(
                name if name is not None else ordinal) else "missing")
    if is_system_dll(dll):
        return "", "", lambda name, ordinal: import_status(dll, name, ordinal)
    return " (DLL not found)", " (the program cannot start without it)", lambda name, ordinal: "missing"


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
        label, where, status = _classify(imp.dll, find)
        if label == " (DLL not found)" and not imp.delayed:
            lost.append(imp.dll)
        marks = []
        for e in imp.entries:
            st = status(e.name, e.ordinal)
            missing += st == "missing"
            marks.append(f"{e.label}{'' if st in ('implemented', 'program DLL') else ' [' + st + ']'}")
        key = f"imports {imp.dll}" + (" (delay-load)" if imp.delayed else "") + label
        rows.append((key, f"{len(imp.entries)}: " + ", ".join(marks) + where))
    rows.append(("missing imports", str(missing)))
    if lost:
        rows.append(("missing DLLs", ", ".join(lost)))
    return rows
