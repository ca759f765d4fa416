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
    fn("CharUpperA", CASE.CharUpperA, "ptr", "ptr"),
    fn("CharUpperW", CASE.CharUpperW, "ptr", "ptr"),
    fn("CharLowerA", CASE.CharLowerA, "ptr", "ptr"),
    fn("CharLowerW", CASE.CharLowerW, "ptr", "ptr"),
    fn("CharUpperBuffA", CASE.CharUpperBuffA, "ptr uint", "uint"),
    fn("CharUpperBuffW", CASE.CharUpperBuffW, "ptr uint", "uint"),
    fn("CharLowerBuffA", CASE.CharLowerBuffA, "ptr uint", "uint"),
    fn("CharLowerBuffW", CASE.CharLowerBuffW, "ptr uint", "uint"),
] + [fn(name, getattr(CASE, name), "uint", "bool", level=PARTIAL, note=CLASS_NOTE)
     for name in ("IsCharUpperA", "IsCharUpperW", "IsCharLowerA", "IsCharLowerW", "IsCharAlphaA", "IsCharAlphaW",
                  "IsCharAlphaNumericA", "IsCharAlphaNumericW")]

DLL = Dll.of("user32.dll", ROWS)
