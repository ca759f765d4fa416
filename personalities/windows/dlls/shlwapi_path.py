"""shlwapi's path helpers: pure string work on Windows paths (plus two that ask the
file system, PathFileExists and PathIsDirectory).

They are lexical and old: only "\\" separates (PathFindFileName also takes "/"
and ":"), a root is "\\", "X:\\" or a "\\\\server\\share", an extension is the
last "." after the last "\\" or blank, and most fail beyond MAX_PATH (260)
characters.  Functions that take a buffer change it in place and return a
pointer into it.  Each rule is a function on Python strings below; the exports
at the end read the guest's string (ANSI in code page 1252, or UTF-16), apply
it, and write back.
"""
from __future__ import annotations

from .. import strings, winerror as W
from .k32_files import FILE_ATTRIBUTE_DIRECTORY, GetFileAttributesA, GetFileAttributesW, fail

MAX_PATH = 260
INVALID_ATTRIBUTES = 0xFFFFFFFF


# -- the rules -------------------------------------------------------------------------
def find_file_name(s: str) -> int:
    last = 0
    for i, c in enumerate(s):
        if c in "\\/:" and i + 1 < len(s) and s[i + 1] not in "\\/":
            last = i + 1
    return last


def find_extension(s: str) -> int:
    dot = None
    for i, c in enumerate(s):
        if c in "\\ ":
            dot = None
        elif c == ".":
            dot = i
    return len(s) if dot is None else dot


def get_args(s: str) -> int:
    quoted = False
    for i, c in enumerate(s):
        if c == " " and not quoted:
            return i + 1
        if c == '"':
            quoted = not quoted
    return len(s)


def is_relative(s: str) -> bool:
    return not (s[:1] == "\\" or s[1:2] == ":")


def is_unc(s: str) -> bool:
    return s.startswith("\\\\")


def is_unc_server_share(s: str) -> bool:
    return is_unc(s) and s[2:].count("\\") == 1


def is_root(s: str) -> bool:
    if s == "\\":
        return True
    if is_unc(s):
        return s[2:].count("\\") <= 1
    return len(s) == 3 and s[1:] == ":\\"


def is_file_spec(s: str) -> bool:
    return "\\" not in s and ":" not in s


def remove_file_spec(s: str) -> tuple[str, bool]:
    """Everything up to the last separator (the root keeps its own)."""
    i = cut = 0
    for _ in range(2):                    # "\" and "\\" belong to the root
        if s[i:i + 1] == "\\":
            i += 1
            cut = i
    while i < len(s):
        if s[i] == "\\":
            cut = i
        elif s[i] == ":":                 # the drive: and its "\" stay
            i += 1
            cut = i + 1 if s[i:i + 1] == "\\" else i
        i += 1
    return (s[:cut], True) if cut < len(s) else (s, False)


def strip_to_root(s: str) -> tuple[str, bool]:
    while not is_root(s):
        s, changed = remove_file_spec(s)
        if not changed:
            return s, False
    return s, True


def add_backslash(s: str) -> str | None:
    if len(s) >= MAX_PATH:
        return None
    return s + "\\" if s and s[-1] != "\\" else s


def remove_backslash(s: str) -> tuple[str, int]:
    """(the path, where its last character is or was)."""
    last = max(len(s) - 1, 0)
    if not is_root(s) and s[last:last + 1] == "\\":
        return s[:last], last
    return s, last


def canonicalize(path: str) -> str:
    """Fold "." and ".." lexically; ".." never climbs above the root or a UNC share."""
    if not path:
        return "\\"
    out: list[str] = []
    i = 0
    if path[0] == "\\":
        out, i = ["\\"], 1
    elif path[1:2] == ":":
        out, i = list(path[:2]), 2
        if path[2:3] == "\\":
            out.append("\\")
            i = 3
    while i < len(path):
        c = path[i]
        if c == "." and path[i + 1:i + 2] == "\\" and (i == 0 or path[i - 1] in "\\:"):
            i += 2                                          # ".\"
            continue
        if c == "." and path[i + 1:i + 2] == "." and (not out or out[-1] == "\\"):
            if out:
                d = len(out)
                if d > 1 and out[d - 1] == "\\" and (out[d - 2] != "\\" or d > 2):
                    if out[d - 2] == ":" and (d > 3 or out[d - 3] == ":"):
                        d -= 2
                        while d > 0 and out[d] != "\\":
                            d -= 1
                        d = d + 1 if out[d] == "\\" else 0
                    elif out[d - 2] != ":" and not is_unc_server_share("".join(out)):
                        d -= 2
                while d > 0 and (d >= len(out) or out[d] != "\\"):
                    d -= 1
                if d == 0:
                    out = ["\\"]
                    i += 1
                else:
                    del out[d:]
            i += 2
            continue
        out.append(c)
        i += 1
    if len(out) == 2 and out[1] == ":":
        out.append("\\")
    return "".join(out)


def combine(directory: str | None, file: str | None) -> str | None:
    if directory is None and file is None:
        return None
    if not file and directory is not None:
        joined = directory[:MAX_PATH - 1]
    elif not directory or not is_relative(file):
        if not directory or file[:1] != "\\" or is_unc(file):
            joined = file[:MAX_PATH - 1]
        else:                                               # "\x": below the directory's root
            root = add_backslash(strip_to_root(directory[:MAX_PATH - 1])[0])
            if root is None or len(root) + len(file) - 1 >= MAX_PATH:
                return None
            joined = root + file[1:]
    else:
        base = add_backslash(directory[:MAX_PATH - 1])
        if base is None or len(base) + len(file) >= MAX_PATH:
            return None
        joined = base + file
    return canonicalize(joined)


def append(path: str, more: str) -> str | None:
    if not is_unc(more):
        more = more.lstrip("\\")
    return combine(path, more)


def quote_spaces(s: str) -> str:
    return f'"{s}"' if " " in s and len(s) + 3 < MAX_PATH else s


def unquote_spaces(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == '"' and s[-1] == '"' else s


# -- the exports -----------------------------------------------------------------------
def _read(p, s, wide):
    return strings.read(p.mem, s, wide)


def _write(p, s, text, wide):
    p.mem.write(s, strings.encode(text, wide) + (b"\0\0" if wide else b"\0"))


def _at(s, index, wide):
    return s + index * (2 if wide else 1)


def _pointer_to(rule):
    """An export that returns a pointer into its argument."""
    def export(p, s, wide):
        return _at(s, rule(_read(p, s, wide)), wide) if s else 0
    return export


def _predicate(rule):
    def export(p, s, wide):
        return 1 if s and rule(_read(p, s, wide)) else 0
    return export


def _in_place(rule):
    """An export that rewrites its buffer (returns nothing)."""
    def export(p, s, wide):
        if s:
            _write(p, s, rule(_read(p, s, wide)), wide)
    return export


FIND_FILE_NAME, FIND_EXTENSION = _pointer_to(find_file_name), _pointer_to(find_extension)
GET_ARGS = _pointer_to(get_args)
IS_ROOT, IS_UNC, IS_FILE_SPEC = _predicate(is_root), _predicate(is_unc), _predicate(is_file_spec)
STRIP_PATH = _in_place(lambda s: s[find_file_name(s):])
REMOVE_EXTENSION = _in_place(lambda s: s[:find_extension(s)])
QUOTE_SPACES, UNQUOTE_SPACES = _in_place(quote_spaces), _in_place(unquote_spaces)


def is_relative_export(p, s, wide):
    return 1 if not s or is_relative(_read(p, s, wide)) else 0


def _rewrite_and_say(rule):
    """An export that rewrites its buffer and returns whether ``rule`` said it did."""
    def export(p, s, wide):
        if not s:
            return 0
        text, flag = rule(_read(p, s, wide))
        _write(p, s, text, wide)
        return int(flag)
    return export


REMOVE_FILE_SPEC, STRIP_TO_ROOT = _rewrite_and_say(remove_file_spec), _rewrite_and_say(strip_to_root)


def add_backslash_export(p, s, wide):
    text = add_backslash(_read(p, s, wide)) if s else None
    if text is None:
        return 0
    _write(p, s, text, wide)
    return _at(s, len(text), wide)


def remove_backslash_export(p, s, wide):
    if not s:
        return 0
    text, last = remove_backslash(_read(p, s, wide))
    _write(p, s, text, wide)
    return _at(s, last, wide)


def rename_extension_export(p, s, ext, wide):
    text, new = _read(p, s, wide), _read(p, ext, wide)
    at = find_extension(text)
    if at + len(new) >= MAX_PATH:
        return 0
    _write(p, s, text[:at] + new, wide)
    return 1


def add_extension_export(p, s, ext, wide):
    if not s or not ext:
        return 0
    text, new = _read(p, s, wide), _read(p, ext, wide)
    if find_extension(text) < len(text) or len(text) + len(new) >= MAX_PATH:
        return 0
    _write(p, s, text + new, wide)
    return 1


def canonicalize_export(p, out, s, wide):
    if not out or not s:
        if out:
            _write(p, out, "", wide)
        return fail(p, W.ERROR_INVALID_PARAMETER)
    _write(p, out, canonicalize(_read(p, s, wide)), wide)
    return 1


def combine_export(p, out, directory, file, wide):
    if not out:
        return 0
    text = combine(_read(p, directory, wide) if directory else None, _read(p, file, wide) if file else None)
    _write(p, out, text or "", wide)
    return out if text is not None else 0


def append_export(p, s, more, wide):
    if not s or not more:
        return 0
    text = append(_read(p, s, wide), _read(p, more, wide))
    if text is None:
        return 0
    _write(p, s, text, wide)
    return 1


def _attributes(p, s, wide) -> int:
    return (GetFileAttributesW if wide else GetFileAttributesA)(p, s) & 0xFFFFFFFF


def file_exists_export(p, s, wide):
    return 1 if s and _attributes(p, s, wide) != INVALID_ATTRIBUTES else 0


def is_directory_export(p, s, wide):
    if not s:
        return 0
    attrs = _attributes(p, s, wide)
    return 0 if attrs == INVALID_ATTRIBUTES else attrs & FILE_ATTRIBUTE_DIRECTORY
