"""ucrtbase.dll as data (and through apisets, every api-ms-win-crt-* set): the
msvcrt rows that the Universal CRT exports too, plus its own start-up, onexit
tables and __stdio_common_* entry points (crt_ucrt)."""
from __future__ import annotations

from ..spec import Dll, PARTIAL, cdecl
from . import crt_ucrt as U
from .msvcrt import ROWS as MSVCRT_ROWS

# msvcrt.dll exports that ucrtbase does not have (its FILE is opaque, its start-up differs)
MSVCRT_ONLY = {"__getmainargs", "__wgetmainargs", "__p__acmdln", "__p__wcmdln", "__iob_func", "_iob",
               "_acmdln", "_wcmdln", "__initenv", "__winitenv", "__argc", "__argv", "__wargv",
               "_environ", "__mb_cur_max", "___mb_cur_max_func", "_amsg_exit", "__dllonexit",
               "printf", "fprintf", "vfprintf", "vprintf", "sprintf", "vsprintf", "_snprintf",
               "_vsnprintf", "wprintf", "fwprintf", "vwprintf", "vfwprintf", "swprintf", "_snwprintf",
               "_vsnwprintf", "scanf", "sscanf", "__set_app_type", "_onexit"}

ROWS = [r for r in MSVCRT_ROWS if r.name not in MSVCRT_ONLY] + [
    cdecl("_set_app_type", lambda p, kind: None, "int", "void"),
    cdecl("_configure_narrow_argv", U.configure_narrow_argv, "int"),
    cdecl("_configure_wide_argv", U.configure_wide_argv, "int"),
    cdecl("_initialize_narrow_environment", U.initialize_environment, ""),
    cdecl("_initialize_wide_environment", U.initialize_environment, ""),
    cdecl("_get_initial_narrow_environment", U.initial_narrow_environment, "", "ptr"),
    cdecl("_get_initial_wide_environment", U.initial_wide_environment, "", "ptr"),
    cdecl("__p___argc", U.p_argc, "", "ptr"),
    cdecl("__p___argv", U.p_argv, "", "ptr"),
    cdecl("__p___wargv", U.p_wargv, "", "ptr"),
    cdecl("__acrt_iob_func", U.acrt_iob_func, "uint", "ptr"),
    cdecl("_initialize_onexit_table", U.initialize_onexit_table, "ptr"),
    cdecl("_register_onexit_function", U.register_onexit_function, "ptr ptr"),
    cdecl("_execute_onexit_table", U.execute_onexit_table, "ptr"),
    cdecl("_crt_atexit", U.crt_atexit, "ptr"),
    cdecl("__stdio_common_vfprintf", U.common_vfprintf, "i64 ptr str ptr ptr"),
    cdecl("__stdio_common_vfwprintf", U.common_vfwprintf, "i64 ptr wstr ptr ptr",
          level=PARTIAL, note="wide text goes out in code page 1252"),
    cdecl("__stdio_common_vsprintf", U.common_vsprintf, "i64 ptr size str ptr ptr"),
    cdecl("__stdio_common_vswprintf", U.common_vswprintf, "i64 ptr size wstr ptr ptr"),
    cdecl("_set_new_mode", U.set_new_mode, "int"),
    cdecl("_configthreadlocale", U.configthreadlocale, "int", level=PARTIAL, note="one locale, C"),
    cdecl("_set_fmode", U.set_fmode, "int"),
]

DLL = Dll.of("ucrtbase.dll", ROWS)
