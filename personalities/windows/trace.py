"""``--trace`` for Windows programs: one line per API call on stderr, e.g.
``KERNEL32.dll!CreateFileW("C:\\\\t.txt", 0x40000000, 0, NULL, 2, 0x80, NULL) = 0x44``,
and JSON Lines with ``--trace-json``.  Argument kinds come from the DLL tables.

Only used when asked for: the process binds traced wrappers instead of the
implementations, so the default path pays nothing for this module."""
from __future__ import annotations

import json
import types

from personalities.guestmem import GuestFault
from . import strings

LIMIT = 64


def _quote(text: str) -> str:
    body = text[:LIMIT].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\r", "\\r").replace("\t", "\\t")
    return '"' + body + '"' + ("..." if len(text) > LIMIT else "")


def fmt(p, kind: str, value: int) -> str:
    try:
        if kind in ("str", "wstr"):
            return "NULL" if value == 0 else _quote(strings.read(p.mem, value, kind == "wstr"))
        if kind in ("int", "long"):
            v = value & 0xFFFFFFFF
            return str(v - (1 << 32) if v >> 31 else v)
        if kind in ("uint", "size", "bool", "word", "i64"):
            return str(value) if value < 0x10000 else hex(value)
        if kind in ("ptr", "handle"):
            return "NULL" if value == 0 else hex(value)
    except (GuestFault, OSError):
        pass
    return hex(value)


def _ret(kind: str, value) -> str:
    if value is None:
        return "" if kind == "void" else "?"
    if kind in ("int", "long"):
        v = value & 0xFFFFFFFF
        return str(v - (1 << 32) if v >> 31 else v)
    if kind in ("ptr", "handle") or (isinstance(value, int) and value >= 0x10000):
        return hex(value & 0xFFFFFFFFFFFFFFFF)
    return str(value)


def traced(tracer, label: str, exp):
    impl = exp.impl
    kinds = [k for k in exp.args if k != "..."]

    def emit(p, shown, result, note=""):
        rtext = _ret(exp.ret, result)
        line = f"{label}({', '.join(shown)})" + (f" = {rtext}" if rtext else "") + note
        if tracer.stream is not None:
            tracer.stream.write(line + "\n")
            tracer.stream.flush()
        if tracer.json_stream is not None:
            tracer.json_stream.write(json.dumps({"pid": p.pid, "api": label, "args": shown,
                                                 "ret": result}) + "\n")
            tracer.json_stream.flush()

    def call(p, *args):
        shown = [fmt(p, k, v) for k, v in zip(kinds, args)]
        if exp.variadic:
            shown.append("...")
        try:
            r = impl(p, *args)
        except BaseException:
            emit(p, shown, None)
            raise
        if type(r) is types.GeneratorType:
            return _follow(p, r, shown)
        emit(p, shown, r)
        return r

    def _follow(p, gen, shown):
        try:
            r = yield from gen
        except BaseException:
            emit(p, shown, None)
            raise
        emit(p, shown, r)
        return r

    return call
