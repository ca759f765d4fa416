"""advapi32.dll as data: the registry, as an empty one for now — every key a program
opens is absent (ERROR_FILE_NOT_FOUND), which programs handle as a fresh install."""
from __future__ import annotations

from ..spec import Dll, PARTIAL, fn

ERROR_FILE_NOT_FOUND, ERROR_ACCESS_DENIED, ERROR_INVALID_HANDLE = 2, 5, 6


def RegOpenKeyEx(p, key, subkey, options, access, result):
    if result:
        p.mem.put_ptr(result, 0)
    return ERROR_FILE_NOT_FOUND


def RegCreateKeyEx(p, key, subkey, reserved, cls, options, access, sec, result, disposition):
    return ERROR_ACCESS_DENIED        # nothing is written: the registry is read-only and empty


def RegCloseKey(p, key):
    return ERROR_INVALID_HANDLE if key >> 31 == 0 else 0     # predefined HKEY_* close fine


def RegQueryValueEx(p, key, name, reserved, kind, data, size):
    return ERROR_FILE_NOT_FOUND


NOTE = "the registry is empty: opening any key fails with ERROR_FILE_NOT_FOUND"
ROWS = [
    fn("RegOpenKeyExW", RegOpenKeyEx, "handle wstr uint uint ptr", "int", level=PARTIAL, note=NOTE),
    fn("RegOpenKeyExA", RegOpenKeyEx, "handle str uint uint ptr", "int", level=PARTIAL, note=NOTE),
    fn("RegCreateKeyExW", RegCreateKeyEx, "handle wstr uint ptr uint uint ptr ptr ptr", "int",
       level=PARTIAL, note="refused (ERROR_ACCESS_DENIED): " + NOTE),
    fn("RegQueryValueExW", RegQueryValueEx, "handle wstr ptr ptr ptr ptr", "int", level=PARTIAL, note=NOTE),
    fn("RegQueryValueExA", RegQueryValueEx, "handle str ptr ptr ptr ptr", "int", level=PARTIAL, note=NOTE),
    fn("RegCloseKey", RegCloseKey, "handle", "int"),
]

DLL = Dll.of("advapi32.dll", ROWS)
