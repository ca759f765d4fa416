"""Windows exceptions against wine64: samples/src/win/seh.c (RaiseException, an
access violation and a divide by zero through a vectored handler that continues
execution, mingw's __try1/__except1 frame handler: __C_specific_handler and
RtlUnwindEx on x64, the fs:[0] chain on x86; unhandled exceptions ending the
process with the code's low byte as exit status, through SetUnhandledExceptionFilter
or not), cxxexc.cpp (C++ throw/catch across frames, static libstdc++: SEH
unwinding on x64, DWARF on i686) and badptr.c (bad pointers handed to the API: the
calls that fail and those that raise an access violation in the caller).  Both builds are held to wine64's output for the
PE32+ build.
"""
from __future__ import annotations

import pytest

from conftest import SAMPLES
from test_windows import assert_mode_like_wine, guise, prefix, wine     # noqa: F401  (fixtures)


@pytest.mark.parametrize("arch", ["x64", "x86"])
@pytest.mark.parametrize("case", ["seh", "seh-unhandled", "seh-raise", "cxxexc", "badptr", "badptr-strlen",
                                  "badptr-getsystemtime", "badptr-strlen-unhandled"])
def test_exceptions_same_as_wine(case, arch, wine, prefix, tmp_path):  # noqa: F811
    assert_mode_like_wine(case, arch, wine, prefix, tmp_path)


def test_unhandled_exception_is_named(prefix, tmp_path):  # noqa: F811
    """-v names the exception that ended the process."""
    g = guise([SAMPLES / "seh-x64.exe", "raise"], tmp_path, prefix, options=["-v"])
    assert g.status == 0x42
    assert b"unhandled exception 0xe0000042" in g.stderr, g.stderr


RTLUNWIND_X86 = b"""handler C: code 0xc0000027, flags 0x2
after RtlUnwind: head is B 1
back in A: head is A 1
handler C: code 0xc0000005, flags 0
handler B: code 0xc0000005, flags 0
handler C: code 0xc0000005, flags 0x2
B unwound: head is B 1
resumed in C: head is B 1
back in A: head is A 1
""".replace(b"\n", b"\r\n")


def test_x86_rtlunwind(prefix, tmp_path):  # noqa: F811
    """rtlunwind.c: x86 RtlUnwind calls the handlers between the head of the fs:[0]
    chain and the target frame with EXCEPTION_UNWINDING (STATUS_UNWIND without a
    record of its own), unlinks them, leaves the target's handler alone and returns
    to its caller, as Windows' x86 ntdll does (wine64 cannot run PE32 programs here,
    and the x64 build has no fs:[0] chain to compare with)."""
    g = guise([SAMPLES / "rtlunwind-x86.exe"], tmp_path, prefix)
    assert (g.stdout, g.status) == (RTLUNWIND_X86, 0), g.stderr
