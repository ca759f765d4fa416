"""The registry of a prefix: a tree of keys and values, kept in the prefix as a
readable text file (``registry.txt``, next to the Windows directory of C:).

Programs read a few keys (the Windows version, code pages, where Program Files
is, cmd.exe's Command Processor settings) and some write their own settings;
Wine keeps a registry in its prefix for the same reason.  The file is read when a
process first touches the registry and written again, whole, after each change, so
that writes persist in the prefix for the next program.  It goes through the
sandbox's view like every other file: a read-only jail keeps the registry
read-only (changes then live only in the process).

The file format, one line each::

    ; a comment
    [HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows NT\\CurrentVersion]
    "ProductName" = sz: "Windows 10 Pro"
    "" = sz: "the key's default value"
    "Count" = dword: 42
    "Paths" = multi_sz: ["C:\\\\a", "C:\\\\b"]
    "Blob" = binary: 01 02 ff
    "Odd" = hex(7fff): 00

A ``[...]`` line opens a key (its full path from a root: HKEY_LOCAL_MACHINE,
HKEY_CURRENT_USER, HKEY_USERS); the value lines after it belong to it.  Names and
string data are JSON strings, so any character can be written.  Types: ``sz``,
``expand_sz``, ``multi_sz`` (a JSON list), ``dword`` and ``qword`` (decimal or 0x
hex), ``binary`` and ``none`` (hex bytes), ``link``; ``hex(N)`` gives the bytes of a
value of any type number N (data that does not read back as its type is written
so).  A missing file is created with ``SEED``.
"""
from __future__ import annotations

import json
import os

REG_NONE, REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD = 0, 1, 2, 3, 4
REG_LINK, REG_MULTI_SZ, REG_QWORD = 6, 7, 11
TYPES = {"none": REG_NONE, "sz": REG_SZ, "expand_sz": REG_EXPAND_SZ, "binary": REG_BINARY,
         "dword": REG_DWORD, "link": REG_LINK, "multi_sz": REG_MULTI_SZ, "qword": REG_QWORD}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
STRING_TYPES = (REG_SZ, REG_EXPAND_SZ, REG_LINK)
ROOTS = ("HKEY_LOCAL_MACHINE", "HKEY_CURRENT_USER", "HKEY_USERS")
FILE_NAME = b"registry.txt"
MAX_FILE = 1 << 26

# What a fresh Windows 10 answers for the keys CRTs, runtimes and Wine's programs
# read (facts of the system guise presents: version 10.0.19045, code page 1252).
SEED = r"""; guise registry of this prefix: the format is described in personalities/windows/registry.py
[HKEY_LOCAL_MACHINE\Software\Microsoft\Windows NT\CurrentVersion]
"CurrentVersion" = sz: "6.3"
"CurrentBuild" = sz: "19045"
"CurrentBuildNumber" = sz: "19045"
"CurrentMajorVersionNumber" = dword: 10
"CurrentMinorVersionNumber" = dword: 0
"CurrentType" = sz: "Multiprocessor Free"
"EditionID" = sz: "Professional"
"ProductName" = sz: "Windows 10 Pro"
"RegisteredOrganization" = sz: ""
"RegisteredOwner" = sz: "guise"
"SystemRoot" = sz: "C:\\Windows"
[HKEY_LOCAL_MACHINE\Software\Microsoft\Windows\CurrentVersion]
"CommonFilesDir" = sz: "C:\\Program Files\\Common Files"
"ProgramFilesDir" = sz: "C:\\Program Files"
"ProgramFilesPath" = expand_sz: "%ProgramFiles%"
[HKEY_LOCAL_MACHINE\Software\Classes]
[HKEY_LOCAL_MACHINE\System\CurrentControlSet\Control\Nls\CodePage]
"ACP" = sz: "1252"
"MACCP" = sz: "10000"
"OEMCP" = sz: "437"
[HKEY_LOCAL_MACHINE\System\CurrentControlSet\Control\Session Manager\Environment]
"ComSpec" = expand_sz: "%SystemRoot%\\system32\\cmd.exe"
"OS" = sz: "Windows_NT"
"PATHEXT" = sz: ".COM;.EXE;.BAT;.CMD"
"Path" = expand_sz: "%SystemRoot%\\system32;%SystemRoot%"
"TEMP" = expand_sz: "C:\\Temp"
"TMP" = expand_sz: "C:\\Temp"
"windir" = expand_sz: "%SystemRoot%"
[HKEY_CURRENT_USER\Software\Microsoft\Command Processor]
"CompletionChar" = dword: 64
"DefaultColor" = dword: 0
"EnableExtensions" = dword: 1
"PathCompletionChar" = dword: 64
[HKEY_CURRENT_USER\Software\Classes]
[HKEY_CURRENT_USER\Environment]
"TEMP" = expand_sz: "C:\\Temp"
"TMP" = expand_sz: "C:\\Temp"
[HKEY_USERS\.DEFAULT]
"""


class RegistryFormatError(ValueError):
    """A line of registry.txt that does not parse: its number and why."""


class Key:
    def __init__(self, name: str, parent: "Key | None" = None):
        self.name = name
        self.parent = parent
        self.subkeys: dict[str, Key] = {}           # lower-case name -> key
        self.values: dict[str, tuple[str, int, bytes]] = {}   # lower-case name -> (name, type, data)

    def path(self) -> str:
        return self.name if self.parent is None else self.parent.path() + "\\" + self.name

    def child(self, name: str, create: bool = False) -> "Key | None":
        k = self.subkeys.get(name.lower())
        if k is None and create:
            k = self.subkeys[name.lower()] = Key(name, self)
        return k

    def sorted_subkeys(self) -> list["Key"]:
        """Enumeration order: case-insensitive by name, as Windows keeps its hives."""
        return [self.subkeys[k] for k in sorted(self.subkeys)]

    def sorted_values(self) -> list[tuple[str, int, bytes]]:
        """Values in the same order (Wine's, which the tests hold guise to)."""
        return [self.values[k] for k in sorted(self.values)]


def split(path: str) -> list[str]:
    return [c for c in path.split("\\") if c]


class Registry:
    def __init__(self):
        self.roots = {name: Key(name) for name in ROOTS}

    # -- the tree ------------------------------------------------------------------------
    def find(self, start: Key, path: str, create: bool = False) -> tuple[Key | None, bool]:
        """(the key at ``path`` below ``start``, whether it was created)."""
        key, created = start, False
        for comp in split(path):
            nxt = key.child(comp)
            if nxt is None:
                if not create:
                    return None, False
                nxt, created = key.child(comp, create=True), True
            key = nxt
        return key, created

    def key(self, full: str, create: bool = False) -> Key | None:
        parts = split(full)
        if not parts or parts[0].upper() not in self.roots:
            return None
        return self.find(self.roots[parts[0].upper()], "\\".join(parts[1:]), create)[0]

    # -- text ----------------------------------------------------------------------------
    def load(self, text: str) -> list[str]:
        """Read the file's keys and values; the lines that do not parse are left out
        and returned as one-line complaints."""
        current, bad = None, []
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            try:
                if line.startswith("[") and line.endswith("]"):
                    current = self.key(line[1:-1], create=True)
                    if current is None:
                        raise RegistryFormatError(f"line {n}: no such root in {line}")
                    continue
                if current is None:
                    raise RegistryFormatError(f"line {n}: a value before any [key]")
                name, kind, data = _parse_value(line, n)
            except RegistryFormatError as e:
                bad.append(str(e))
                continue
            current.values[name.lower()] = (name, kind, data)
        return bad

    def dump(self) -> str:
        out = [SEED.splitlines()[0]]

        def walk(key: Key):
            if key.values or not key.subkeys:        # a path's inner keys come back with it
                out.append(f"[{key.path()}]")
            for name, kind, data in key.values.values():
                out.append(f"{json.dumps(name, ensure_ascii=False)} = {_format_data(kind, data)}")
            for sub in key.sorted_subkeys():
                walk(sub)
        for root in self.roots.values():
            for sub in root.sorted_subkeys():
                walk(sub)
            if root.values:
                walk(root)
        return "\n".join(out) + "\n"


def _parse_value(line: str, n: int) -> tuple[str, int, bytes]:
    try:
        name, end = json.JSONDecoder().raw_decode(line)
        rest = line[end:].strip()
        if not isinstance(name, str) or not rest.startswith("="):
            raise ValueError("expected \"name\" = type: data")
        tname, _, data = rest[1:].strip().partition(":")
        tname, data = tname.strip().lower(), data.strip()
        if tname.startswith("hex(") and tname.endswith(")"):       # any type, as its bytes
            return name, int(tname[4:-1], 16), bytes.fromhex(data)
        if tname in TYPES:
            kind = TYPES[tname]
        else:
            raise ValueError(f"unknown type {tname!r}")
        if kind in STRING_TYPES:
            s = json.loads(data)
            if not isinstance(s, str):
                raise ValueError("string data must be a JSON string")
            raw = (s + "\0").encode("utf-16-le", "surrogatepass")
        elif kind == REG_MULTI_SZ:
            items = json.loads(data)
            if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
                raise ValueError("multi_sz data must be a JSON list of strings")
            raw = "".join(s + "\0" for s in items).encode("utf-16-le", "surrogatepass") + b"\0\0"
        elif kind in (REG_DWORD, REG_QWORD):
            raw = (int(data, 0) & ((1 << (32 if kind == REG_DWORD else 64)) - 1)).to_bytes(
                4 if kind == REG_DWORD else 8, "little")
        else:
            raw = bytes.fromhex(data)
        return name, kind, raw
    except (ValueError, json.JSONDecodeError) as e:
        raise RegistryFormatError(f"line {n}: {e}") from None


def _format_data(kind: int, data: bytes) -> str:
    tname = TYPE_NAMES.get(kind, f"hex({kind:x})")
    if kind in STRING_TYPES and len(data) % 2 == 0:
        text = data.decode("utf-16-le", "surrogatepass")
        if text.endswith("\0"):
            return f"{tname}: {json.dumps(text[:-1], ensure_ascii=False)}"
    elif kind == REG_MULTI_SZ and len(data) % 2 == 0:
        text = data.decode("utf-16-le", "surrogatepass")
        if text.endswith("\0\0") or text == "\0":
            items = text[:-2].split("\0") if text.endswith("\0\0") and len(text) > 2 else []
            if "".join(s + "\0" for s in items).encode("utf-16-le", "surrogatepass") + b"\0\0" == data:
                return f"{tname}: {json.dumps(items, ensure_ascii=False)}"
    elif kind == REG_DWORD and len(data) == 4 or kind == REG_QWORD and len(data) == 8:
        return f"{tname}: {int.from_bytes(data, 'little')}"
    # anything that does not read back as its type keeps its exact bytes
    if kind not in (REG_BINARY, REG_NONE):
        tname = f"hex({kind:x})"
    return f"{tname}: {data.hex(' ')}"


# -- the prefix's file, through the sandbox's view --------------------------------------------
class Store:
    """The registry of a process's prefix: loaded on first use, saved after changes."""

    def __init__(self, paths):
        self.paths = paths
        self.path = paths.prefix + b"/" + FILE_NAME
        self.reg = Registry()
        self.writable = True
        text = self._read()
        if text is None:
            self.reg.load(SEED)
            self.save()
            return
        bad = self.reg.load(text)
        if bad:
            # never overwrite a file someone edited by hand with what could be read of it
            self.writable = False
            os.write(2, f"guise: {os.fsdecode(self.path)}: {bad[0]} ({len(bad)} bad line(s) ignored; "
                        f"the registry stays read-only)\n".encode())

    def _read(self) -> str | None:
        fs = self.paths.fs
        self.paths.ensure_prefix()
        try:
            fd = fs.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as f:
            return f.read(MAX_FILE).decode("utf-8", "surrogateescape")

    def save(self) -> None:
        """Write the whole file next to the old one, then rename it over: a reader never
        sees half a registry.  A read-only view keeps the changes in this process only."""
        if not self.writable:
            return
        fs = self.paths.fs
        tmp = self.path + b".new"
        try:
            fd = fs.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(self.reg.dump().encode("utf-8", "surrogateescape"))
            fs.rename(tmp, self.path)
        except OSError:
            pass


def store(p) -> Store:
    """The process's registry (one per process, shared by its threads)."""
    s = p.state.get("registry")
    if s is None:
        s = p.state["registry"] = Store(p.paths)
    return s
