"""kernel32/ntdll exception exports (RaiseException, vectored handlers, the x64
unwinder's Rtl* functions) and msvcrt's __C_specific_handler, as data; the
implementations are ../seh.py and ../unwind.py."""
from __future__ import annotations

from .. import seh, unwind as U
from ..spec import PARTIAL, cdecl, fn

X64_ONLY = "x64 unwinding (no effect on x86, where Windows has no such export)"

ROWS = [
    fn("RaiseException", seh.RaiseException, "uint uint uint ptr", "void"),
    fn("AddVectoredExceptionHandler", seh.AddVectoredExceptionHandler, "uint ptr", "ptr"),
    fn("RemoveVectoredExceptionHandler", seh.RemoveVectoredExceptionHandler, "ptr", "uint"),
    fn("RtlUnwind", seh.RtlUnwind, "ptr ptr ptr ptr", "void", level=PARTIAL,
       note="x86: the fs:[0] chain, no collided unwinds; x64: RtlUnwindEx's walk"),
    fn("RtlCaptureContext", U.RtlCaptureContext, "ptr", "void"),
    fn("RtlLookupFunctionEntry", U.RtlLookupFunctionEntry, "ptr ptr ptr", "ptr", level=PARTIAL, note=X64_ONLY),
    fn("RtlVirtualUnwind", U.RtlVirtualUnwind, "uint ptr ptr ptr ptr ptr ptr ptr", "ptr", level=PARTIAL,
       note="x64; no epilogue detection, context pointers not filled"),
    fn("RtlUnwindEx", U.RtlUnwindEx, "ptr ptr ptr ptr ptr ptr", "void", level=PARTIAL,
       note="x64; no collided unwinds beyond a handler's own nested RtlUnwindEx"),
    fn("RtlAddFunctionTable", U.RtlAddFunctionTable, "ptr uint ptr", "bool", level=PARTIAL, note=X64_ONLY),
    fn("RtlDeleteFunctionTable", U.RtlDeleteFunctionTable, "ptr", "bool", level=PARTIAL, note=X64_ONLY),
]

CRT_ROWS = [
    cdecl("__C_specific_handler", U.C_specific_handler, "ptr ptr ptr ptr", "int", level=PARTIAL,
          note="x64 scope tables: filters, jump targets and __finally blocks"),
]
