"""user32.dll as data: what console programs take from it (string resources, wsprintf,
MessageBox, walking, case mapping and classes of characters)."""
from __future__ import annotations

from ..spec import Dll, PARTIAL, cdecl, fn
from . import user32_case as CASE, user32_chars as CH, user32_msgbox as BOX, user32_strings as S

BOX_NOTE = "one line on stderr; answers the default button (there is no screen)"
CLASS_NOTE = "Unicode's character properties; Windows' own tables differ for a few (titlecase, letter numbers)"

ROWS = [
    fn("LoadStringW", S.LoadStringW, "handle uint ptr int", "int"),
    fn("LoadStringA", S.LoadStringA, "handle uint ptr int", "int"),
    cdecl("wsprintfW", S.wsprintfW, "ptr wstr ...", "int"),
    cdecl("wsprintfA", S.wsprintfA, "ptr str ...", "int"),
    fn("MessageBoxA", BOX.MessageBoxA, "handle str str uint", "int", level=PARTIAL, note=BOX_NOTE),
    fn("MessageBoxW", BOX.MessageBoxW, "handle wstr wstr uint", "int", level=PARTIAL, note=BOX_NOTE),
    fn("MessageBoxExA", BOX.MessageBoxExA, "handle str str uint uint", "int", level=PARTIAL, note=BOX_NOTE),
    fn("MessageBoxExW", BOX.MessageBoxExW, "handle wstr wstr uint uint", "int", level=PARTIAL, note=BOX_NOTE),
    fn("CharNextA", CH.CharNextA, "ptr", "ptr"),
    fn("CharNextExA", CH.CharNextExA, "word ptr uint", "ptr"),
    fn("CharPrevA", CH.CharPrevA, "ptr ptr", "ptr"),
    fn("CharPrevExA", CH.CharPrevExA, "word ptr ptr uint", "ptr"),
]
for name, upper in (("CharUpper", True), ("CharLower", False)):
    for suffix, wide in (("A", False), ("W", True)):
        ROWS.append(fn(name + suffix, CASE.case_export(upper, wide), "ptr", "ptr"))
        ROWS.append(fn(name + "Buff" + suffix, CASE.buff_export(upper, wide), "ptr uint", "uint"))
ROWS += [fn(name + suffix, CASE.class_export(test, wide), "uint", "bool", level=PARTIAL, note=CLASS_NOTE)
         for name, test in CASE.CLASSES.items() for suffix, wide in (("A", False), ("W", True))]

DLL = Dll.of("user32.dll", ROWS)
