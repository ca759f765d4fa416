"""The program's own DLLs, loaded as real PE modules.

System DLLs are emulated (``dlls/``, API sets through ``apisets``): kernel32 is
never a file here.  Any other DLL is looked for where LoadLibrary looks (the
standard search order with SafeDllSearchMode): the program's directory, the
prefix's System32, the current directory, then PATH.  A file found there is
mapped, relocated when its preferred base is taken, and its own imports are
bound the same way, recursively.  A module is registered before its imports are
bound, so an import cycle finds it instead of loading it again.  A DLL that is
not found stops the program before it starts, as Windows does (naming the DLL;
LoadLibrary of a DLL that needs it fails with ERROR_MOD_NOT_FOUND), unless it
is one of Windows' own DLLs (``sysdlls``): then its imports stop with "not
implemented" at their first call.

Modules are initialised dependencies first (their TLS callbacks, then their
entry point with DLL_PROCESS_ATTACH; ``lpReserved`` is non-NULL for the DLLs a
program starts with), and detached in the reverse order at ExitProcess, or at
their last FreeLibrary.  The PEB's three loader lists hold them (initialisation
order once they are initialised).

Delay-load imports are not bound here: the image's own helper binds them at the
first call.  mingw's ``__delayLoadHelper2`` does it with LoadLibraryA and
GetProcAddress (and GNU ld leaves the delay-import data directory empty, so
there is nothing for a loader to see); MSVC's helper does the same.

Wine's own DLLs (marked ``Wine builtin DLL`` after the DOS header) are Wine's
implementation of the system: guise never loads them.  To guise they are system
DLLs, emulated or missing, wherever they lie.
"""
from __future__ import annotations

import os
import stat

from loader import pe as peloader
from loader.errors import LoaderError
from loader.mapping import map_image
from . import apisets, strings, teb as tebmod, winerror as W
from .sysdlls import is_system_dll
from .vmem import MEM_IMAGE

DLL_PROCESS_DETACH, DLL_PROCESS_ATTACH, DLL_THREAD_ATTACH = 0, 1, 2
WINE_BUILTIN = b"Wine builtin DLL"
MAX_FORWARDS = 16               # a forwarder chain longer than this is a loop
MAX_DLL_FILE = 1 << 30
STATIC = 1                      # lpReserved for the DLLs the program starts with
STATUS_DLL_INIT_FAILED = 0xC0000142   # a DLL the program starts with said no
DLL_NOT_FOUND_STATUS = 116            # guise's status for it (guise/exitcodes.py)


class LoadFailure(Exception):
    """A DLL that cannot be loaded; ``error`` is the Win32 error LoadLibrary sets."""

    def __init__(self, message: str, error: int):
        super().__init__(message)
        self.error = error

    @property
    def status(self) -> int:
        """guise's exit status when the program cannot start because of it."""
        return DLL_NOT_FOUND_STATUS if self.error == W.ERROR_MOD_NOT_FOUND else 126


class PeModule:
    """A mapped PE image: a DLL of the program (or the program itself, for its exports)."""

    def __init__(self, image, base: int, path: str):
        self.image = image
        self.info: peloader.PeInfo = image.details["pe"]
        self.base = base
        self.end = base + self.info.size_of_image
        self.path = path                          # its Windows path
        self.name = path.rsplit("\\", 1)[-1]
        self.refs = 1
        self.pinned = False                       # loaded with the program: never unloaded
        self.attached = False
        self.deps: list[PeModule] = []            # modules it holds a reference on
        self.ldr_entry = 0
        self.tls_index: int | None = None

    @property
    def entry(self) -> int:
        return self.base + self.image.entry if self.image.entry else 0


class Loader:
    """The process's loaded DLLs (kept in ``p.state``, shared by its threads)."""

    def __init__(self):
        self.modules: dict[str, PeModule] = {}    # lower-case file name -> module
        self.fresh: list[PeModule] = []           # loaded by the current request, all of them
        self.pending: list[PeModule] = []         # ... and not initialised yet, dependencies first
        self.initialised: list[PeModule] = []
        self.tls_next = 1                         # TLS index 0 is the program's
        self.exiting = False
        self.exe: PeModule | None = None


def loader(p) -> Loader:
    L = p.state.get("loader")
    if L is None:
        L = p.state["loader"] = Loader()
    return L


def is_emulated(dll: str) -> bool:
    from .dlls import find_dll
    return find_dll(apisets.canonical(dll)) is not None


def file_name(name: str) -> str:
    """LoadLibrary's rule: no extension means ".dll"; a trailing dot means none."""
    name = name.replace("/", "\\")
    if name.endswith("."):
        return name[:-1]
    return name if "." in name.rsplit("\\", 1)[-1] else name + ".dll"


def key_of(name: str) -> str:
    return file_name(name).rsplit("\\", 1)[-1].lower()


# -- finding and mapping -----------------------------------------------------------------
def search_dirs(paths, exe_windows: str, path_var: str | None) -> list[str]:
    """The directories LoadLibrary looks in, in order (SafeDllSearchMode)."""
    dirs = [exe_windows.rsplit("\\", 1)[0], "C:\\Windows\\System32", paths.cwd()]
    return dirs + [d for d in (path_var or "").split(";") if d]


def _dirs(p) -> list[str]:
    from .dlls.k32_process import environment
    path = environment(p).get("PATH")
    return search_dirs(p.paths, p.paths.to_windows(p.exe_guest), path[1] if path is not None else None)


def find_file(paths, name: str, dirs: list[str]) -> tuple[str, bytes] | None:
    """(Windows path, contents) of the first regular file ``name`` names in ``dirs``
    (a name with a directory in it is taken as it is); None if there is none."""
    cands = [name] if ("\\" in name or ":" in name) else [d.rstrip("\\") + "\\" + name for d in dirs]
    for cand in cands:
        try:
            guest = paths.to_guest(cand)
            fd = paths.fs.open(guest, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read(MAX_DLL_FILE + 1)
        except OSError:
            continue
        finally:
            os.close(fd)
        return paths.to_windows(paths.fs.absolute(guest)), data
    return None


def is_wine_builtin(data: bytes) -> bool:
    return data[0x40:0x40 + len(WINE_BUILTIN)] == WINE_BUILTIN


def _read(p, name: str) -> tuple[str, bytes] | None:
    """(Windows path, contents) of the program DLL ``name``: None if there is no file
    by that name on the search path, or the first one is one of Wine's system DLLs."""
    found = find_file(p.paths, name, _dirs(p))
    return None if found is None or is_wine_builtin(found[1]) else found


def can_be_missing(p, name: str) -> bool:
    """Whether an import of ``name`` that no file answers still lets the program start:
    a DLL of Windows itself (sysdlls.py), or one of Wine's that lies on the search path."""
    if is_system_dll(name):
        return True
    found = find_file(p.paths, file_name(name), _dirs(p))
    return found is not None and is_wine_builtin(found[1])


def map_pe(p, image, base: int, name: str) -> None:
    """Map a PE image at ``base`` (reserved until now, so that nested loads kept out)."""
    size = image.details["pe"].size_of_image
    p.space.release(base)
    map_image(image, p.space, base, name=name)
    for r in p.space.regions:
        if base <= r.start < base + size:
            r.kind, r.alloc_base = MEM_IMAGE, base


def load(p, name: str) -> PeModule | None:
    """The program DLL ``name`` (one more reference on it), loaded with its own imports
    if it is new; None if no file by that name is on the search path.  Newly loaded
    modules wait in ``pending`` for ``initialise``; LoadFailure if one cannot load."""
    L = loader(p)
    fname = file_name(name)
    mod = L.modules.get(key_of(fname))
    if mod is not None:
        mod.refs += 1
        return mod
    found = _read(p, fname)
    if found is None:
        return None
    path, data = found
    try:
        image = peloader.parse_pe(data, path)
    except LoaderError as e:
        raise LoadFailure(str(e), W.ERROR_BAD_EXE_FORMAT) from None
    info = image.details["pe"]
    if image.bits != p.bits:
        raise LoadFailure(f"{path}: a {image.bits}-bit DLL cannot load into a {p.bits}-bit program",
                          W.ERROR_BAD_EXE_FORMAT)
    base = info.image_base
    if not p.space.is_free(base, base + info.size_of_image):
        base = p.space.find_free(info.size_of_image)
        try:
            peloader.relocate(image, base)
        except LoaderError as e:
            raise LoadFailure(str(e), W.ERROR_BAD_EXE_FORMAT) from None
    p.space.reserve(base, info.size_of_image, 0, name="[image]")
    mod = PeModule(image, base, path)
    L.modules[mod.name.lower()] = mod
    L.fresh.append(mod)
    bind_imports(p, image, mod)
    map_pe(p, image, base, path)
    _add_tls(p, mod)
    ldr = getattr(p, "ldr", 0)
    if ldr:
        _list(p, mod)
    L.pending.append(mod)
    return mod


def bind_imports(p, image, owner: PeModule | None = None) -> None:
    """Write the address of every import into the image's IAT (before it is mapped).
    Delay-load imports are the image's own helper's business (see the docstring)."""
    info = image.details["pe"]
    mem, step = info.memory, p.ptr
    for imp in info.imports:
        if imp.delayed:
            continue
        emulated = is_emulated(imp.dll)
        target = None if emulated else load(p, imp.dll)
        if target is None and not emulated and not can_be_missing(p, imp.dll):
            raise LoadFailure(f"{_importer(p, owner)}: cannot find DLL {imp.dll}", W.ERROR_MOD_NOT_FOUND)
        if target is not None and owner is not None:
            owner.deps.append(target)
        for e in imp.entries:
            if target is None:
                addr = p.resolve(imp.dll, e.name, e.ordinal)
            else:
                addr = export_address(p, target, e.name, e.ordinal, owner)
                if not addr:
                    raise LoadFailure(f"{target.path}: no export {e.label} (imported by {_importer(p, owner)})",
                                      W.ERROR_PROC_NOT_FOUND)
            mem[e.iat_rva:e.iat_rva + step] = addr.to_bytes(step, "little")
    peloader._fill(image)


def _importer(p, owner: PeModule | None) -> str:
    return owner.name if owner is not None else os.path.basename(os.fsdecode(p.exe_guest))


def export_address(p, mod: PeModule, name: str | None, ordinal: int | None,
                   owner: PeModule | None = None, depth: int = 0) -> int:
    """The address of an export (by name, else by ordinal), following forwarders
    ("DLL.name" / "DLL.#ordinal", to emulated or program DLLs); 0 if there is none.
    A program DLL a forwarder leads to is loaded if it is not yet, as a dependency of
    ``owner`` (else of ``mod``)."""
    info = mod.info
    rva = info.exports.get(name) if name is not None else info.export_ordinals.get(ordinal)
    if not rva:
        return 0
    lo, size = info.export_range
    if not lo <= rva < lo + size:
        return mod.base + rva
    if depth >= MAX_FORWARDS:
        return 0
    try:
        text = strings.decode(bytes(info.memory[rva:rva + 512].split(b"\0", 1)[0]), False)
    except IndexError:
        return 0
    dll, _, func = text.rpartition(".")
    if not dll or not func:
        return 0
    fwd_ord = int(func[1:]) if func.startswith("#") and func[1:].isdigit() else None
    fwd_name = None if fwd_ord is not None else func
    if is_emulated(dll):
        return p.resolve(dll, fwd_name, fwd_ord, missing_ok=False)
    target = by_name(p, dll)           # already loaded: no new reference, as on Windows
    if target is None:
        target = load(p, dll)
        if target is None:
            return 0
        (owner if owner is not None else mod).deps.append(target)
    return export_address(p, target, fwd_name, fwd_ord, owner, depth + 1)


def exe_module(p) -> PeModule:
    """The program as a module, for GetProcAddress on its own exports."""
    L = loader(p)
    if L.exe is None or L.exe.base != p.image_base:
        L.exe = PeModule(p.image, p.image_base, p.exe_windows)
        L.exe.pinned = True
    return L.exe


# -- TLS and the loader lists ------------------------------------------------------------
def _add_tls(p, mod: PeModule) -> None:
    """A TLS index for a DLL with a TLS directory; threads that already exist get its block."""
    t = mod.info.tls
    if t is None:
        return
    L = loader(p)
    mod.tls_index = L.tls_next
    L.tls_next += 1
    if t.index_rva:
        p.mem.put_u32(mod.base + t.index_rva, mod.tls_index)
    if getattr(p, "teb", 0):
        group = getattr(p, "group", None)
        views = list(group.threads.values()) if group is not None else [p]
        for view in {v.teb: v for v in views + [p]}.values():
            array = p.mem.ptr(view.teb + p.layout.tls_pointer)
            _tls_block(p, mod, array)


def _tls_block(p, mod: PeModule, array: int) -> None:
    t = mod.info.tls
    size = t.raw_end - t.raw_start if t.raw_end > t.raw_start else 0
    tmpl = p.mem.read(mod.base + t.raw_start, size) if size else b""
    block = p.heap.alloc(size + t.zero_fill + 16, zero=True)
    p.mem.write(block, tmpl)
    p.mem.put_ptr(array + p.ptr * mod.tls_index, block)


def fill_tls(p, array: int) -> None:
    """A new thread's TLS array: a block for each loaded DLL that has TLS."""
    for mod in loader(p).modules.values():
        if mod.tls_index is not None:
            _tls_block(p, mod, array)


def _builder(p) -> tebmod.Builder:
    return tebmod.Builder(p.mem, p.bits, p._alloc)


def _list(p, mod: PeModule) -> None:
    b = _builder(p)
    mod.ldr_entry = b.ldr_entry(mod.base, mod.entry, mod.info.size_of_image, mod.path, mod.name)
    for k in (0, 1):
        b.link(p.ldr, mod.ldr_entry, k)


def list_loaded(p) -> None:
    """The PEB now exists: put the DLLs the program started with into its loader lists."""
    for mod in loader(p).modules.values():
        _list(p, mod)


# -- initialisation and the end ------------------------------------------------------------
def _notify(p, mod: PeModule, reason: int, reserved: int):
    """TLS callbacks, then the entry point, as the loader calls them; the entry's result."""
    from .process import Call
    if mod.info.tls is not None:
        for cb in mod.info.tls.callbacks:
            yield Call(mod.base + cb, (mod.base, reason, reserved))
    if mod.entry:
        return (yield Call(mod.entry, (mod.base, reason, reserved))) & 0xFFFFFFFF
    return 1


def initialise(p, reserved: int = 0):
    """Attach the modules waiting in ``pending``, dependencies first.  True if all of
    them said yes; else the failed one is detached, the rest of this request unloaded."""
    L = loader(p)
    while L.pending:
        mod = L.pending.pop(0)
        if getattr(p, "ldr", 0):
            _builder(p).link(p.ldr, mod.ldr_entry, 2)
        ok = yield from _notify(p, mod, DLL_PROCESS_ATTACH, reserved)
        if not ok:
            yield from _notify(p, mod, DLL_PROCESS_DETACH, reserved)
            L.pending.clear()
            discard(p)
            return False
        mod.attached = True
        L.initialised.append(mod)
    L.fresh.clear()
    return True


def discard(p) -> None:
    """Unload what the current request loaded and did not initialise (it failed)."""
    L = loader(p)
    for mod in L.fresh:
        if not mod.attached:
            _unload(p, mod)
    L.fresh.clear()
    L.pending.clear()


def _unload(p, mod: PeModule) -> None:
    L = loader(p)
    if mod.ldr_entry:
        b = _builder(p)
        for k in range(3):
            b.unlink(mod.ldr_entry, k)
    L.modules.pop(mod.name.lower(), None)
    if mod in L.initialised:
        L.initialised.remove(mod)
    p.space.release(mod.base)


def free(p, mod: PeModule):
    """FreeLibrary: one reference less; at none the module is detached and unmapped, and
    lets go of the modules it held."""
    if mod.pinned:
        return
    mod.refs -= 1
    if mod.refs > 0:
        return
    if mod.attached and not loader(p).exiting:
        yield from _notify(p, mod, DLL_PROCESS_DETACH, 0)
    _unload(p, mod)
    for dep in mod.deps:
        yield from free(p, dep)


def detach_all(p):
    """Process exit: DLL_PROCESS_DETACH to every initialised DLL, last initialised first."""
    L = loader(p)
    if L.exiting:
        return
    L.exiting = True
    for mod in reversed(L.initialised):
        yield from _notify(p, mod, DLL_PROCESS_DETACH, STATIC)


def notify_threads(p, reason: int, quiet: set):
    """DLL_THREAD_ATTACH (initialisation order) or DLL_THREAD_DETACH (the reverse) to the
    initialised DLLs, but not those whose base is in ``quiet`` (DisableThreadLibraryCalls)
    nor any once the process is ending."""
    mods = [m for m in loader(p).initialised if m.base not in quiet and not loader(p).exiting]
    for mod in mods if reason == DLL_THREAD_ATTACH else mods[::-1]:
        yield from _notify(p, mod, reason, 0)


def pin_all(p) -> None:
    """The DLLs the program starts with stay until it ends."""
    for mod in loader(p).modules.values():
        mod.pinned = True


# -- handles -------------------------------------------------------------------------------
def by_name(p, name: str) -> PeModule | None:
    return loader(p).modules.get(key_of(name))


def by_handle(p, handle: int) -> PeModule | None:
    for mod in loader(p).modules.values():
        if mod.base == handle:
            return mod
    return None


def containing(p, addr: int) -> int:
    """The handle of the image that holds ``addr`` (the program or a DLL), 0 if none."""
    if p.image_base <= addr < p.image_base + p.info.size_of_image:
        return p.image_base
    for mod in loader(p).modules.values():
        if mod.base <= addr < mod.end:
            return mod.base
    for emu in p.modules.values():
        if emu.base <= addr < emu.base + 0x1000:
            return emu.base
    return 0
