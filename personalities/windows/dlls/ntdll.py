"""ntdll.dll as data: the few C-runtime copies and Rtl functions programs import from
it directly.  The NT system-call layer beneath kernel32 is not emulated: kernel32
itself is."""
from __future__ import annotations

from ..spec import Dll, cdecl, fn
from . import crt_stdio as IO, k32_except as EXC, k32_process as P

ROWS = [
    cdecl("_vsnprintf", IO.vsnprintf, "ptr size str ptr"),
    cdecl("sprintf", IO.sprintf, "ptr str ..."),
    fn("RtlGetVersion", P.RtlGetVersion, "ptr", "uint"),
]

DLL = Dll.of("ntdll.dll", ROWS + [r for r in EXC.ROWS if r.name.startswith("Rtl")])
