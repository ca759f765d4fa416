"""kernel32: modules — LoadLibrary, GetProcAddress, FreeLibrary, GetModuleHandle(Ex),
GetModuleFileName — over both kinds of module a process has: the emulated system
DLLs (a handle that points at a header page, exports bound to stubs) and the
program's own DLLs, real PE images (``modules.py``).

LoadLibrary, GetProcAddress and FreeLibrary may run guest code (DllMain, TLS
callbacks), so they return a generator when there is some to run."""
from __future__ import annotations

from .. import modules, strings, winerror as W
from .k32_files import fail

GET_MODULE_HANDLE_EX_FLAG_PIN = 1
GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT = 2
GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS = 4
# LoadLibraryEx flags that map a DLL without running its code
NO_CODE = 0x1 | 0x2 | 0x20 | 0x40    # DONT_RESOLVE_DLL_REFERENCES, AS_DATAFILE(_EXCLUSIVE), AS_IMAGE_RESOURCE


def _is_exe(p, name: str) -> bool:
    base = name.replace("/", "\\").rsplit("\\", 1)[-1].lower()
    exe = p.exe_windows.rsplit("\\", 1)[-1].lower()
    return base == exe or base + ".exe" == exe


def _loaded(p, name: str) -> int:
    """The handle of a module already in the process (emulated ones are always there)."""
    if _is_exe(p, name):
        return p.image_base
    mod = modules.by_name(p, name)
    if mod is not None:
        return mod.base
    if modules.is_emulated(name):
        return p.module(modules.key_of(name)).base
    return 0


def _module_handle(p, name: str | None) -> int:
    if name is None:
        return p.image_base
    return _loaded(p, name) or fail(p, W.ERROR_MOD_NOT_FOUND)


def GetModuleHandleA(p, name):
    return _module_handle(p, strings.read_a(p.mem, name) if name else None)


def GetModuleHandleW(p, name):
    return _module_handle(p, strings.read_w(p.mem, name) if name else None)


def _module_handle_ex(p, flags, name, out, wide):
    if out == 0:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    if flags & GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS:
        handle = modules.containing(p, name)
        if not handle:
            fail(p, W.ERROR_MOD_NOT_FOUND)
    else:
        handle = _module_handle(p, strings.read(p.mem, name, wide) if name else None)
    p.mem.put_ptr(out, handle)
    mod = modules.by_handle(p, handle)
    if mod is not None:
        if flags & GET_MODULE_HANDLE_EX_FLAG_PIN:
            mod.pinned = True
        elif not flags & GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT:
            mod.refs += 1
    return 1 if handle else 0


def GetModuleHandleExA(p, flags, name, out):
    return _module_handle_ex(p, flags, name, out, False)


def GetModuleHandleExW(p, flags, name, out):
    return _module_handle_ex(p, flags, name, out, True)


def _load_library(p, name: str, flags: int = 0):
    if not name:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    handle = _loaded(p, name)
    mod = modules.by_handle(p, handle) if handle else None
    if mod is not None:
        mod.refs += 1
    if handle:
        return handle
    try:
        mod = modules.load(p, name)
    except modules.LoadFailure as e:
        modules.discard(p)
        return fail(p, e.error)
    if mod is None:
        modules.discard(p)
        return fail(p, W.ERROR_MOD_NOT_FOUND)
    if flags & NO_CODE:
        modules.loader(p).pending.clear()
        modules.loader(p).fresh.clear()
        return mod.base
    return _after_init(p, mod.base)


def _after_init(p, value: int):
    """``value`` once the modules this call brought in are initialised."""
    if not (yield from modules.initialise(p)):
        return fail(p, W.ERROR_DLL_INIT_FAILED)
    return value


def LoadLibraryA(p, name):
    return _load_library(p, strings.read_a(p.mem, name) if name else "")


def LoadLibraryW(p, name):
    return _load_library(p, strings.read_w(p.mem, name) if name else "")


def LoadLibraryExA(p, name, reserved, flags):
    return _load_library(p, strings.read_a(p.mem, name) if name else "", flags)


def LoadLibraryExW(p, name, reserved, flags):
    return _load_library(p, strings.read_w(p.mem, name) if name else "", flags)


def FreeLibrary(p, handle):
    mod = modules.by_handle(p, handle)
    if mod is not None:
        return _freed(p, mod)
    if handle == p.image_base or any(m.base == handle for m in p.modules.values()):
        return 1                   # the program and emulated DLLs stay
    return fail(p, W.ERROR_MOD_NOT_FOUND)


def _freed(p, mod):
    yield from modules.free(p, mod)
    return 1


def GetProcAddress(p, handle, name):
    if name >> 16 == 0:
        ordinal, proc = name & 0xFFFF, None
    else:
        ordinal, proc = None, strings.read_a(p.mem, name)
    if handle in (0, p.image_base):
        mod = modules.exe_module(p)
    else:
        mod = modules.by_handle(p, handle)
    if mod is None:
        for emu in p.modules.values():
            if emu.base == handle:
                addr = p.resolve(emu.dll.name, proc, ordinal, missing_ok=False)
                return addr if addr else fail(p, W.ERROR_PROC_NOT_FOUND)
        return fail(p, W.ERROR_MOD_NOT_FOUND)
    try:
        addr = modules.export_address(p, mod, proc, ordinal)
    except modules.LoadFailure as e:
        modules.discard(p)
        return fail(p, e.error)
    if not addr:
        modules.discard(p)
        return fail(p, W.ERROR_PROC_NOT_FOUND)
    if modules.loader(p).pending:           # a forwarder brought in a DLL: initialise it
        return _after_init(p, addr)
    return addr


def _module_file_name(p, handle, buf, size, wide):
    if handle in (0, p.image_base):
        text = p.exe_windows
    else:
        mod = modules.by_handle(p, handle)
        emu = next((m for m in p.modules.values() if m.base == handle), None)
        if mod is not None:
            text = mod.path
        elif emu is not None:
            text = "C:\\Windows\\System32\\" + emu.dll.name
        else:
            return fail(p, W.ERROR_MOD_NOT_FOUND)
    n, ok = strings.copy_out(p.mem, buf, size, text, wide)
    if ok:
        return n
    if size:                      # truncated to size-1 characters and a NUL, as Windows does
        unit = 2 if wide else 1
        p.mem.write(buf, strings.encode(text[:size - 1], wide) + b"\0" * unit)
    return fail(p, W.ERROR_INSUFFICIENT_BUFFER, size)


def GetModuleFileNameA(p, handle, buf, size):
    return _module_file_name(p, handle, buf, size, False)


def GetModuleFileNameW(p, handle, buf, size):
    return _module_file_name(p, handle, buf, size, True)


def ResolveDelayLoadedAPI(p, parent, desc, dll_hook, system_hook, thunk, flags):
    """The delay-load helper's kernel32 half (Wine's winecrt0 helper calls it): bind the
    IAT slot ``thunk`` of the delay-import descriptor ``desc`` of module ``parent``.
    An export nobody has gets a stub that stops when called, as a static import does."""
    m = p.mem
    name_rva, hmod_rva, iat_rva, names_rva = (m.u32(desc + 4 * k) for k in (1, 2, 3, 4))
    dll = strings.read_a(m, parent + name_rva)
    entry = m.ptr(parent + names_rva + (thunk - parent - iat_rva) // p.ptr * p.ptr)
    if entry >> (p.bits - 1):
        ordinal, proc = entry & 0xFFFF, None
    else:
        ordinal, proc = None, strings.read_a(m, parent + entry + 2)
    mod = None if modules.is_emulated(dll) else modules.by_name(p, dll)
    if mod is None and not modules.is_emulated(dll):
        try:
            mod = modules.load(p, dll)
        except modules.LoadFailure:
            modules.discard(p)
        if mod is not None and not (yield from modules.initialise(p)):
            mod = None
    if mod is not None:
        addr = modules.export_address(p, mod, proc, ordinal) or p.resolve(dll, proc, ordinal)
        handle = mod.base
    else:
        addr = p.resolve(dll, proc, ordinal)
        emu = p.module(dll)
        handle = emu.base if emu is not None else 0
    if hmod_rva and handle:
        m.put_ptr(parent + hmod_rva, handle)
    m.put_ptr(thunk, addr)
    return addr
