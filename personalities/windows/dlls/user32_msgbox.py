"""user32 MessageBox for console programs: there is no screen to show a dialog on,
so the box is one message on the standard error handle ("caption: text"), and
the answer is the box's default button, as if the user had pressed Enter at
once.  A style Windows rejects fails with ERROR_INVALID_MSGBOX_STYLE.
"""
from __future__ import annotations

from .. import strings
from .k32_files import _file, fail, write_all

IDOK, IDCANCEL, IDABORT, IDRETRY, IDIGNORE, IDYES, IDNO, IDTRYAGAIN, IDCONTINUE = 1, 2, 3, 4, 5, 6, 7, 10, 11
# MB_OK, MB_OKCANCEL, MB_ABORTRETRYIGNORE, MB_YESNOCANCEL, MB_YESNO, MB_RETRYCANCEL, MB_CANCELTRYCONTINUE
BUTTONS = [(IDOK,), (IDOK, IDCANCEL), (IDABORT, IDRETRY, IDIGNORE), (IDYES, IDNO, IDCANCEL), (IDYES, IDNO),
           (IDRETRY, IDCANCEL), (IDCANCEL, IDTRYAGAIN, IDCONTINUE)]
ERROR_INVALID_MSGBOX_STYLE = 1158
DEFAULT_CAPTION = "Error"


def _box(p, text: int, caption: int, style: int, wide: bool) -> int:
    kind, default = style & 0xF, (style >> 8) & 0xF
    if kind >= len(BUTTONS):
        return fail(p, ERROR_INVALID_MSGBOX_STYLE)
    body = strings.read(p.mem, text, wide) if text else ""
    title = strings.read(p.mem, caption, wide) if caption else DEFAULT_CAPTION
    f = _file(p, p.std[2])
    if f is not None:
        write_all(p, f, f"{title}: {body}\n".encode("utf-8", "replace"))
    buttons = BUTTONS[kind]
    return buttons[default] if default < len(buttons) else buttons[0]


def MessageBoxA(p, hwnd, text, caption, style):
    return _box(p, text, caption, style, False)


def MessageBoxW(p, hwnd, text, caption, style):
    return _box(p, text, caption, style, True)


def MessageBoxExA(p, hwnd, text, caption, style, lang):
    return _box(p, text, caption, style, False)


def MessageBoxExW(p, hwnd, text, caption, style, lang):
    return _box(p, text, caption, style, True)
