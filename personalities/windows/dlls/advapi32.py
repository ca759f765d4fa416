"""advapi32.dll as data: the registry functions, over the prefix's registry
(``registry.py``: a text file in the prefix, written back after each change).

The predefined keys are HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER and HKEY_USERS;
HKEY_CLASSES_ROOT is HKLM\\Software\\Classes and HKEY_CURRENT_CONFIG is the
current hardware profile under HKLM, as Windows maps them.  An open key is a
handle in the process's handle table.  The ANSI functions convert names and
string data through code page 1252 (the registry itself holds UTF-16)."""
from __future__ import annotations

from .. import registry as R, strings, winerror as W
from ..spec import Dll, PARTIAL, fn

HKCR, HKCU, HKLM, HKU, HKPD, HKCC = range(0x80000000, 0x80000006)
REG_CREATED_NEW_KEY, REG_OPENED_EXISTING_KEY = 1, 2
RRF_NOEXPAND, RRF_ZEROONFAILURE = 0x10000000, 0x20000000
# RegGetValue's RRF_RT_* bit for each type it can return
RRF_BITS = {R.REG_NONE: 0x1, R.REG_SZ: 0x2, R.REG_EXPAND_SZ: 0x4, R.REG_BINARY: 0x8,
            R.REG_DWORD: 0x10, R.REG_MULTI_SZ: 0x20, R.REG_QWORD: 0x40}
MAPPED = {HKCR: ("HKEY_LOCAL_MACHINE", "Software\\Classes"),
          HKCC: ("HKEY_LOCAL_MACHINE", "System\\CurrentControlSet\\Hardware Profiles\\Current")}
ROOT_OF = {HKLM: "HKEY_LOCAL_MACHINE", HKCU: "HKEY_CURRENT_USER", HKU: "HKEY_USERS"}


class OpenKey:
    """A key handle: the key it names (it may have been deleted since)."""

    def __init__(self, key: R.Key):
        self.key = key


def _predefined(h: int) -> int | None:
    """The HKEY_* constant a handle is (x64 code passes them sign-extended)."""
    if h >> 32 in (0, 0xFFFFFFFF) and HKCR <= h & 0xFFFFFFFF <= HKCC:
        return h & 0xFFFFFFFF
    return None


def _key(p, h: int) -> tuple[R.Key | None, int]:
    """(key, 0) or (None, error) for a handle."""
    reg = R.store(p).reg
    pre = _predefined(h)
    if pre in ROOT_OF:
        return reg.roots[ROOT_OF[pre]], 0
    if pre in MAPPED:
        root, path = MAPPED[pre]
        return reg.find(reg.roots[root], path, create=True)[0], 0
    obj = p.handles.get(h)
    if not isinstance(obj, OpenKey):
        return None, W.ERROR_INVALID_HANDLE
    if _deleted(obj.key):
        return None, W.ERROR_KEY_DELETED
    return obj.key, 0


def _deleted(key: R.Key) -> bool:
    while key.parent is not None:
        if key.parent.subkeys.get(key.name.lower()) is not key:
            return True
        key = key.parent
    return False


def _text(p, addr: int, wide: bool) -> str:
    return strings.read(p.mem, addr, wide) if addr else ""


def _below(p, h, subkey, wide, create=False):
    """(key, created, error): the key ``subkey`` names below the open key ``h``
    (None if it does not exist), or no key and the error if ``h`` is not open."""
    key, err = _key(p, h)
    if key is None:
        return None, False, err
    target, created = R.store(p).reg.find(key, _text(p, subkey, wide), create=create)
    return target, created, 0


def _save(p) -> None:
    R.store(p).save()


def _as_seen(kind: int, data: bytes, wide: bool) -> bytes:
    """Value data as the A functions return it: strings in code page 1252."""
    if wide or kind not in R.STRING_TYPES + (R.REG_MULTI_SZ,) or len(data) % 2:
        return data
    return strings.encode(data.decode("utf-16-le", "surrogatepass"), False)


def _as_stored(kind: int, data: bytes, wide: bool) -> bytes:
    if wide or kind not in R.STRING_TYPES + (R.REG_MULTI_SZ,):
        return data
    return strings.decode(data, False).encode("utf-16-le", "surrogatepass")


def _put_data(p, kind: int, raw: bytes, ptype: int, data: int, pcb: int) -> int:
    """The RegQueryValueEx contract: type, size, and the bytes if the buffer holds them."""
    if ptype:
        p.mem.put_u32(ptype, kind)
    if not pcb:
        return W.ERROR_INVALID_PARAMETER if data else 0
    have = p.mem.u32(pcb)
    p.mem.put_u32(pcb, len(raw))
    if not data:
        return 0
    if have < len(raw):
        return W.ERROR_MORE_DATA
    p.mem.write(data, raw)
    return 0


def _put_name(p, name: str, buf: int, pcch: int, wide: bool) -> int:
    """A key or value name into a buffer of *pcch characters; *pcch becomes its length."""
    data = strings.encode(name, wide)
    n = len(data) // (2 if wide else 1)
    if p.mem.u32(pcch) < n + 1:
        return W.ERROR_MORE_DATA
    p.mem.write(buf, data + (b"\0\0" if wide else b"\0"))
    p.mem.put_u32(pcch, n)
    return 0


# -- keys -----------------------------------------------------------------------------------
def _open(p, h, subkey, out, wide):
    target, _, err = _below(p, h, subkey, wide)
    if err:
        return err
    if target is None:
        if out:
            p.mem.put_ptr(out, 0)
        return W.ERROR_FILE_NOT_FOUND
    p.mem.put_ptr(out, p.handles.add(OpenKey(target)))
    return 0


def RegOpenKeyExW(p, h, subkey, options, access, out):
    return _open(p, h, subkey, out, True)


def RegOpenKeyExA(p, h, subkey, options, access, out):
    return _open(p, h, subkey, out, False)


def RegOpenKeyW(p, h, subkey, out):
    return _open(p, h, subkey, out, True)


def RegOpenKeyA(p, h, subkey, out):
    return _open(p, h, subkey, out, False)


def _create(p, h, subkey, out, disposition, wide):
    target, created, err = _below(p, h, subkey, wide, create=True)
    if err:
        return err
    if created:
        _save(p)
    p.mem.put_ptr(out, p.handles.add(OpenKey(target)))
    if disposition:
        p.mem.put_u32(disposition, REG_CREATED_NEW_KEY if created else REG_OPENED_EXISTING_KEY)
    return 0


def RegCreateKeyExW(p, h, subkey, reserved, cls, options, access, sec, out, disposition):
    return _create(p, h, subkey, out, disposition, True)


def RegCreateKeyExA(p, h, subkey, reserved, cls, options, access, sec, out, disposition):
    return _create(p, h, subkey, out, disposition, False)


def RegCreateKeyW(p, h, subkey, out):
    return _create(p, h, subkey, out, 0, True)


def RegCreateKeyA(p, h, subkey, out):
    return _create(p, h, subkey, out, 0, False)


def RegCloseKey(p, h):
    if _predefined(h) is not None:
        return 0
    if not isinstance(p.handles.get(h), OpenKey):
        return W.ERROR_INVALID_HANDLE
    p.handles.close(h)
    return 0


def _delete_key(p, h, subkey, wide, tree):
    target, _, err = _below(p, h, subkey, wide)
    if err:
        return err
    if target is None:
        return W.ERROR_FILE_NOT_FOUND
    if tree and not (subkey and _text(p, subkey, wide).strip("\\")):
        target.subkeys.clear()            # RegDeleteTree without a subkey empties the key
        target.values.clear()
    else:
        if target.parent is None or target.subkeys and not tree:
            return W.ERROR_ACCESS_DENIED     # a root, or a key that still has subkeys
        del target.parent.subkeys[target.name.lower()]
    _save(p)
    return 0


def RegDeleteKeyW(p, h, subkey):
    return _delete_key(p, h, subkey, True, False)


def RegDeleteKeyA(p, h, subkey):
    return _delete_key(p, h, subkey, False, False)


def RegDeleteTreeW(p, h, subkey):
    return _delete_key(p, h, subkey, True, True)


def RegDeleteTreeA(p, h, subkey):
    return _delete_key(p, h, subkey, False, True)


def _enum_key(p, h, index, name, pcch, cls, pcls, ftime, wide):
    key, err = _key(p, h)
    if key is None:
        return err
    subs = key.sorted_subkeys()
    if index >= len(subs):
        return W.ERROR_NO_MORE_ITEMS
    err = _put_name(p, subs[index].name, name, pcch, wide)
    if err:
        return err
    if cls and pcls:
        _put_name(p, "", cls, pcls, wide)
    if ftime:
        p.mem.put_u64(ftime, 0)
    return 0


def RegEnumKeyExW(p, h, index, name, pcch, reserved, cls, pcls, ftime):
    return _enum_key(p, h, index, name, pcch, cls, pcls, ftime, True)


def RegEnumKeyExA(p, h, index, name, pcch, reserved, cls, pcls, ftime):
    return _enum_key(p, h, index, name, pcch, cls, pcls, ftime, False)


def _query_info(p, h, cls, pcls, psub, pmaxsub, pmaxcls, pvals, pmaxname, pmaxdata, psec, pftime, wide):
    key, err = _key(p, h)
    if key is None:
        return err
    vals = list(key.values.values())
    facts = [(psub, len(key.subkeys)), (pmaxsub, max((len(k.name) for k in key.subkeys.values()), default=0)),
             (pmaxcls, 0), (pvals, len(vals)), (pmaxname, max((len(v[0]) for v in vals), default=0)),
             (pmaxdata, max((len(_as_seen(v[1], v[2], wide)) for v in vals), default=0)), (psec, 0)]
    for addr, value in facts:
        if addr:
            p.mem.put_u32(addr, value)
    if cls and pcls:
        _put_name(p, "", cls, pcls, wide)
    if pftime:
        p.mem.put_u64(pftime, 0)
    return 0


def RegQueryInfoKeyW(p, h, cls, pcls, reserved, psub, pmaxsub, pmaxcls, pvals, pmaxname, pmaxdata, psec, pftime):
    return _query_info(p, h, cls, pcls, psub, pmaxsub, pmaxcls, pvals, pmaxname, pmaxdata, psec, pftime, True)


def RegQueryInfoKeyA(p, h, cls, pcls, reserved, psub, pmaxsub, pmaxcls, pvals, pmaxname, pmaxdata, psec, pftime):
    return _query_info(p, h, cls, pcls, psub, pmaxsub, pmaxcls, pvals, pmaxname, pmaxdata, psec, pftime, False)


# -- values ---------------------------------------------------------------------------------
def _query(p, h, name, ptype, data, pcb, wide):
    key, err = _key(p, h)
    if key is None:
        return err
    v = key.values.get(_text(p, name, wide).lower())
    if v is None:
        return W.ERROR_FILE_NOT_FOUND
    return _put_data(p, v[1], _as_seen(v[1], v[2], wide), ptype, data, pcb)


def RegQueryValueExW(p, h, name, reserved, ptype, data, pcb):
    return _query(p, h, name, ptype, data, pcb, True)


def RegQueryValueExA(p, h, name, reserved, ptype, data, pcb):
    return _query(p, h, name, ptype, data, pcb, False)


def _set(p, h, name, kind, data, size, wide):
    key, err = _key(p, h)
    if key is None:
        return err
    if _predefined(h) is not None and key.parent is None:
        return W.ERROR_ACCESS_DENIED               # values right under a hive's root
    vname = _text(p, name, wide)
    raw = _as_stored(kind, p.mem.read(data, size) if size else b"", wide)
    key.values[vname.lower()] = (vname, kind & 0xFFFFFFFF, raw)
    _save(p)
    return 0


def RegSetValueExW(p, h, name, reserved, kind, data, size):
    return _set(p, h, name, kind, data, size, True)


def RegSetValueExA(p, h, name, reserved, kind, data, size):
    return _set(p, h, name, kind, data, size, False)


def _delete_value(p, h, name, wide):
    key, err = _key(p, h)
    if key is None:
        return err
    if key.values.pop(_text(p, name, wide).lower(), None) is None:
        return W.ERROR_FILE_NOT_FOUND
    _save(p)
    return 0


def RegDeleteValueW(p, h, name):
    return _delete_value(p, h, name, True)


def RegDeleteValueA(p, h, name):
    return _delete_value(p, h, name, False)


def _enum_value(p, h, index, name, pcch, ptype, data, pcb, wide):
    key, err = _key(p, h)
    if key is None:
        return err
    vals = key.sorted_values()
    if index >= len(vals):
        return W.ERROR_NO_MORE_ITEMS
    vname, kind, raw = vals[index]
    err = _put_name(p, vname, name, pcch, wide)
    if err:
        return err
    return _put_data(p, kind, _as_seen(kind, raw, wide), ptype, data, pcb) if (pcb or ptype) else 0


def RegEnumValueW(p, h, index, name, pcch, reserved, ptype, data, pcb):
    return _enum_value(p, h, index, name, pcch, ptype, data, pcb, True)


def RegEnumValueA(p, h, index, name, pcch, reserved, ptype, data, pcb):
    return _enum_value(p, h, index, name, pcch, ptype, data, pcb, False)


def _get_value(p, h, subkey, name, flags, ptype, data, pcb, wide):
    """RegGetValue: a value of a (sub)key, of one of the types ``flags`` allows,
    REG_EXPAND_SZ expanded unless RRF_NOEXPAND."""
    from .k32_process import expand
    target, _, err = _below(p, h, subkey, wide)
    if err:
        return err
    v = target.values.get(_text(p, name, wide).lower()) if target is not None else None
    if v is None:
        err = W.ERROR_FILE_NOT_FOUND
    else:
        _, kind, raw = v
        if kind == R.REG_EXPAND_SZ and not flags & RRF_NOEXPAND:
            text = raw.decode("utf-16-le", "surrogatepass").split("\0")[0]
            kind, raw = R.REG_SZ, (expand(p, text) + "\0").encode("utf-16-le", "surrogatepass")
        if not flags & RRF_BITS.get(kind, 0):
            err = W.ERROR_UNSUPPORTED_TYPE
        else:
            err = _put_data(p, kind, _as_seen(kind, raw, wide), ptype, data, pcb)
    if err and err != W.ERROR_MORE_DATA and flags & RRF_ZEROONFAILURE and data and pcb:
        p.mem.write(data, bytes(p.mem.u32(pcb)))
    return err


def RegGetValueW(p, h, subkey, name, flags, ptype, data, pcb):
    return _get_value(p, h, subkey, name, flags, ptype, data, pcb, True)


def RegGetValueA(p, h, subkey, name, flags, ptype, data, pcb):
    return _get_value(p, h, subkey, name, flags, ptype, data, pcb, False)


NOTE_SEC = "access rights and security attributes are not checked"
ROWS = []
for w, s in (("W", "wstr"), ("A", "str")):
    mod = globals()
    ROWS += [
        fn(f"RegOpenKeyEx{w}", mod[f"RegOpenKeyEx{w}"], f"handle {s} uint uint ptr", "int", level=PARTIAL,
           note=NOTE_SEC),
        fn(f"RegOpenKey{w}", mod[f"RegOpenKey{w}"], f"handle {s} ptr", "int"),
        fn(f"RegCreateKeyEx{w}", mod[f"RegCreateKeyEx{w}"], f"handle {s} uint ptr uint uint ptr ptr ptr", "int",
           level=PARTIAL, note=NOTE_SEC + "; no volatile keys, classes or key times"),
        fn(f"RegCreateKey{w}", mod[f"RegCreateKey{w}"], f"handle {s} ptr", "int"),
        fn(f"RegDeleteKey{w}", mod[f"RegDeleteKey{w}"], f"handle {s}", "int"),
        fn(f"RegDeleteTree{w}", mod[f"RegDeleteTree{w}"], f"handle {s}", "int"),
        fn(f"RegEnumKeyEx{w}", mod[f"RegEnumKeyEx{w}"], "handle uint ptr ptr ptr ptr ptr ptr", "int",
           level=PARTIAL, note="no classes; last-write times are 0"),
        fn(f"RegQueryInfoKey{w}", mod[f"RegQueryInfoKey{w}"], "handle ptr ptr ptr ptr ptr ptr ptr ptr ptr ptr ptr",
           "int", level=PARTIAL, note="no classes, security descriptors or last-write times"),
        fn(f"RegQueryValueEx{w}", mod[f"RegQueryValueEx{w}"], f"handle {s} ptr ptr ptr ptr", "int"),
        fn(f"RegSetValueEx{w}", mod[f"RegSetValueEx{w}"], f"handle {s} uint uint ptr uint", "int"),
        fn(f"RegDeleteValue{w}", mod[f"RegDeleteValue{w}"], f"handle {s}", "int"),
        fn(f"RegEnumValue{w}", mod[f"RegEnumValue{w}"], "handle uint ptr ptr ptr ptr ptr ptr", "int"),
        fn(f"RegGetValue{w}", mod[f"RegGetValue{w}"], f"handle {s} {s} uint ptr ptr ptr", "int", level=PARTIAL,
           note="RRF_SUBKEY_WOW64* views are one view"),
    ]
ROWS.append(fn("RegCloseKey", RegCloseKey, "handle", "int"))

DLL = Dll.of("advapi32.dll", ROWS)
