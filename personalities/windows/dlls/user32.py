"""user32.dll as data: what console programs take from it (string resources, character classes)."""
from __future__ import annotations

from ..spec import Dll, PARTIAL, cdecl, fn
from . import user32_chars as CH, user32_strings as S

ROWS = [
    fn("LoadStringW", S.LoadStringW, "handle uint ptr int", "int"),
    fn("LoadStringA", S.LoadStringA, "handle uint ptr int", "int"),
    fn("IsCharAlphaW", S.IsCharAlphaW, "uint", "bool", level=PARTIAL, note="Unicode categories, not the locale's"),
    fn("IsCharAlphaNumericW", S.IsCharAlphaNumericW, "uint", "bool", level=PARTIAL,
       note="Unicode categories, not the locale's"),
    cdecl("wsprintfW", S.wsprintfW, "ptr wstr ...", "int"),
    cdecl("wsprintfA", S.wsprintfA, "ptr str ...", "int"),
    fn("CharNextA", CH.CharNextA, "ptr", "ptr"),
    fn("CharNextExA", CH.CharNextExA, "word ptr uint", "ptr"),
    fn("CharPrevA", CH.CharPrevA, "ptr ptr", "ptr"),
    fn("CharPrevExA", CH.CharPrevExA, "word ptr ptr uint", "ptr"),
    fn("CharUpperBuffW", S.CharUpperBuffW, "ptr uint", "uint", level=PARTIAL, note="simple case mapping"),
]

DLL = Dll.of("user32.dll", ROWS)
