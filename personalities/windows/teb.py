"""The structures a Windows program finds through fs:/gs: — TEB, PEB, the process
parameters and the loader's module list — laid out per architecture.

Only the fields CRTs and runtimes read are filled in; the offsets are the
documented/public ones (winternl.h, the NT_TIB layout).
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Layout:
    # TEB
    teb_size: int
    exception_list: int
    stack_base: int
    stack_limit: int
    teb_self: int
    client_id: int
    tls_pointer: int
    teb_peb: int
    last_error: int
    tls_slots: int
    # PEB
    peb_image_base: int
    peb_ldr: int
    peb_params: int
    peb_heap: int
    peb_nprocs: int
    peb_os_major: int
    # RTL_USER_PROCESS_PARAMETERS
    pp_std: int             # StandardInput; Output and Error follow at +ptr
    pp_cwd: int             # CurrentDirectory.DosPath (UNICODE_STRING) then Handle
    pp_image: int
    pp_cmdline: int
    pp_env: int
    # PEB_LDR_DATA and LDR_DATA_TABLE_ENTRY
    ldr_lists: int          # InLoadOrderModuleList; InMemoryOrder, InInitializationOrder follow
    entry_base: int         # DllBase; EntryPoint, SizeOfImage, FullDllName, BaseDllName follow
    ustr: int               # sizeof(UNICODE_STRING)


X64 = Layout(teb_size=0x1850, exception_list=0x0, stack_base=0x8, stack_limit=0x10, teb_self=0x30,
             client_id=0x40, tls_pointer=0x58, teb_peb=0x60, last_error=0x68, tls_slots=0x1480,
             peb_image_base=0x10, peb_ldr=0x18, peb_params=0x20, peb_heap=0x30, peb_nprocs=0xB8,
             peb_os_major=0x118, pp_std=0x20, pp_cwd=0x38, pp_image=0x60, pp_cmdline=0x70,
             pp_env=0x80, ldr_lists=0x10, entry_base=0x30, ustr=16)
X86 = Layout(teb_size=0x1000, exception_list=0x0, stack_base=0x4, stack_limit=0x8, teb_self=0x18,
             client_id=0x20, tls_pointer=0x2C, teb_peb=0x30, last_error=0x34, tls_slots=0xE10,
             peb_image_base=0x8, peb_ldr=0xC, peb_params=0x10, peb_heap=0x18, peb_nprocs=0x64,
             peb_os_major=0xA4, pp_std=0x18, pp_cwd=0x24, pp_image=0x38, pp_cmdline=0x40,
             pp_env=0x48, ldr_lists=0xC, entry_base=0x18, ustr=8)
TLS_SLOTS = 64
WINDOWS_VERSION = (10, 0, 19045)     # what GetVersionEx and the PEB report


class Builder:
    """Writes the structures into guest memory allocated from ``alloc(size)``."""

    def __init__(self, mem, bits: int, alloc):
        self.mem, self.bits, self.alloc = mem, bits, alloc
        self.L = X64 if bits == 64 else X86
        self.ptr = bits // 8

    def ustring(self, at: int, text: str) -> int:
        """A UNICODE_STRING at ``at`` pointing to a fresh copy of ``text``."""
        data = text.encode("utf-16-le")
        buf = self.alloc(len(data) + 2)
        self.mem.write(buf, data + b"\0\0")
        self.mem.write(at, len(data).to_bytes(2, "little") + (len(data) + 2).to_bytes(2, "little"))
        self.mem.put_ptr(at + (8 if self.bits == 64 else 4), buf)
        return buf

    def peb(self, image_base: int, heap: int, params: int, ldr: int) -> int:
        L = self.L
        peb = self.alloc(0x1000)
        self.mem.put_ptr(peb + L.peb_image_base, image_base)
        self.mem.put_ptr(peb + L.peb_ldr, ldr)
        self.mem.put_ptr(peb + L.peb_params, params)
        self.mem.put_ptr(peb + L.peb_heap, heap)
        self.mem.put_u32(peb + L.peb_nprocs, 1)
        major, minor, build = WINDOWS_VERSION
        for k, v in enumerate((major, minor, build, 2)):       # 2 = VER_PLATFORM_WIN32_NT
            self.mem.put_u32(peb + L.peb_os_major + 4 * k, v)
        return peb

    def params(self, cmdline: str, image_path: str, cwd: str, env_block: int, std: tuple) -> int:
        L = self.L
        pp = self.alloc(0x400)
        self.mem.put_u32(pp, 0x400)
        self.mem.put_u32(pp + 4, 0x400)
        self.mem.put_u32(pp + 8, 1)                             # PROCESS_PARAMETERS_NORMALIZED
        for k, h in enumerate(std):
            self.mem.put_ptr(pp + L.pp_std + self.ptr * k, h)
        self.ustring(pp + L.pp_cwd, cwd.rstrip("\\") + "\\")
        self.ustring(pp + L.pp_image, image_path)
        self.ustring(pp + L.pp_cmdline, cmdline)
        self.mem.put_ptr(pp + L.pp_env, env_block)
        return pp

    def ldr(self, modules: list[tuple[int, int, int, str, str]]) -> int:
        """PEB_LDR_DATA with one LDR_DATA_TABLE_ENTRY per (base, entry, size, full, base name),
        linked into the three circular lists in the same order."""
        ldr = self.alloc(0x60)
        self.mem.put_u32(ldr, 0x30 if self.bits == 32 else 0x58)
        self.mem.put_u32(ldr + 4, 1)
        for k in range(3):
            head = self.list_node(ldr, k, head=True)
            self.mem.put_ptr(head, head)
            self.mem.put_ptr(head + self.ptr, head)
        for module in modules:
            entry = self.ldr_entry(*module)
            for k in range(3):
                self.link(ldr, entry, k)
        return ldr

    def ldr_entry(self, base: int, entry: int, size: int, full: str, short: str) -> int:
        """An LDR_DATA_TABLE_ENTRY, not yet in any list."""
        L, p = self.L, self.ptr
        e = self.alloc(0x120)
        self.mem.put_ptr(e + L.entry_base, base)
        self.mem.put_ptr(e + L.entry_base + p, entry)
        self.mem.put_u32(e + L.entry_base + 2 * p, size)
        self.ustring(e + L.entry_base + 3 * p, full)
        self.ustring(e + L.entry_base + 3 * p + L.ustr, short)
        return e

    def list_node(self, at: int, k: int, head: bool = False) -> int:
        """List ``k`` (0 load order, 1 memory order, 2 initialisation order): its
        LIST_ENTRY in PEB_LDR_DATA (``head``) or in an LDR_DATA_TABLE_ENTRY."""
        return at + (self.L.ldr_lists if head else 0) + 2 * self.ptr * k

    def link(self, ldr: int, entry: int, k: int) -> None:
        """Append ``entry`` to the end of list ``k``."""
        head, node = self.list_node(ldr, k, head=True), self.list_node(entry, k)
        last = self.mem.ptr(head + self.ptr)
        self.mem.put_ptr(node, head)
        self.mem.put_ptr(node + self.ptr, last)
        self.mem.put_ptr(last, node)
        self.mem.put_ptr(head + self.ptr, node)

    def unlink(self, entry: int, k: int) -> None:
        node = self.list_node(entry, k)
        nxt, prev = self.mem.ptr(node), self.mem.ptr(node + self.ptr)
        if nxt and prev:
            self.mem.put_ptr(prev, nxt)
            self.mem.put_ptr(nxt + self.ptr, prev)
            self.mem.put_ptr(node, 0)
            self.mem.put_ptr(node + self.ptr, 0)

    def teb(self, peb: int, stack_lo: int, stack_hi: int, tls_array: int, pid: int, tid: int) -> int:
        L = self.L
        teb = self.alloc(L.teb_size)
        self.mem.put_ptr(teb + L.exception_list, (1 << self.bits) - 1)   # end of the SEH chain
        self.mem.put_ptr(teb + L.stack_base, stack_hi)
        self.mem.put_ptr(teb + L.stack_limit, stack_lo)
        self.mem.put_ptr(teb + L.teb_self, teb)
        self.mem.put_ptr(teb + L.client_id, pid)
        self.mem.put_ptr(teb + L.client_id + self.ptr, tid)
        self.mem.put_ptr(teb + L.tls_pointer, tls_array)
        self.mem.put_ptr(teb + L.teb_peb, peb)
        return teb
