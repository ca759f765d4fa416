"""The Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit entry.

guise does the boot loader's work and skips real mode, as the protocol allows
for a kernel whose header says XLF_KERNEL_64.  The kernel goes into RAM one of
two ways (``load(decompress=...)``):

- "host" (the default): ``hw/bzimage.py`` decompresses the payload on the
  host and the kernel proper's ELF segments go to their physical addresses
  (LOAD_PHYSICAL_ADDR, which must be a multiple of kernel_alignment); the
  CPU enters the ELF's entry, the kernel proper's ``startup_64``.  This
  spares the emulated CPU the kernel's own decompressor, about half of a
  Debian boot on unicorn.  A payload the host cannot unpack (LZO, an unknown
  format) falls back to the guest way.
- "guest": the protected-mode part of the bzImage (everything after the
  setup sectors) is loaded at the kernel's preferred address and the CPU
  enters the decompressor's ``startup_64`` (load address + 0x200), which
  unpacks the kernel in guest memory.

Either way the kernel's init_size from its load address must lie in RAM
above 1 MiB, clear of the initrd; the zero page (``struct boot_params``) gets
a copy of the setup header plus what a loader fills in (command line
pointer, initrd place and size, loader type, an E820 memory map), and the
CPU starts in 64-bit mode with an identity map of the low 4 GiB in 2 MiB
pages, a GDT whose 0x10 is flat 64-bit code and 0x18 flat data, interrupts
off and RSI pointing at the zero page.

Guest physical layout (below 1 MiB, where the kernel keeps its hands off until
it has copied what it needs): GDT at 0x500, zero page at 0x7000, page tables at
0x9000-0xefff, command line at 0x20000; the BIOS area 0x9fc00-0xfffff is
reserved in the E820 map.  The initrd goes at the top of RAM.
"""
from __future__ import annotations

import struct
import time

from . import bzimage
from .boot import BootError

GDT, ZERO_PAGE, PML4, CMDLINE = 0x500, 0x7000, 0x9000, 0x20000
GDT_LIMIT = 4 * 8 - 1                  # null, unused, code (0x10), data (0x18): see _gdt
BOOT_CS, BOOT_DS = 0x10, 0x18
E820_RAM, E820_RESERVED = 1, 2
XLF_KERNEL_64 = 1
LOADED_HIGH, CAN_USE_HEAP = 0x01, 0x80
LOW_RAM_END, BIOS_START = 0x9FC00, 0xE0000


class TooLittleMemory(BootError):
    """The kernel (and its initrd) do not fit in the guest RAM asked for."""


class LinuxImage:
    """What the setup header of a bzImage says, checked."""

    def __init__(self, data: bytes):
        if len(data) < 0x1000 or data[0x1FE:0x200] != b"\x55\xaa" or data[0x202:0x206] != b"HdrS":
            raise BootError("not a Linux bzImage (no boot sector signature and \"HdrS\" setup header)")
        self.data = data
        self.version = struct.unpack_from("<H", data, 0x206)[0]
        if self.version < 0x20C:
            raise BootError(f"boot protocol {self.version >> 8}.{self.version & 0xFF} is too old: "
                            "the 64-bit entry needs 2.12 or later")
        xloadflags = struct.unpack_from("<H", data, 0x236)[0]
        if not xloadflags & XLF_KERNEL_64:
            raise BootError("this bzImage has no 64-bit entry point (a 32-bit kernel)")
        setup_sects = data[0x1F1] or 4
        self.setup_end = (setup_sects + 1) * 512
        self.header_end = 0x202 + data[0x201]
        syssize = struct.unpack_from("<I", data, 0x1F4)[0] * 16
        self.protected = data[self.setup_end:]         # the decompressor and its payload
        if len(self.protected) < syssize or not self.protected:
            raise BootError(f"truncated kernel: the header says {self.setup_end + syssize} bytes, "
                            f"the file has {len(data)}")
        self.pref_address = struct.unpack_from("<Q", data, 0x258)[0] or 0x1000000
        self.init_size = struct.unpack_from("<I", data, 0x260)[0]
        self.initrd_max = struct.unpack_from("<I", data, 0x22C)[0]
        self.cmdline_size = struct.unpack_from("<I", data, 0x238)[0] or 255
        self.alignment = struct.unpack_from("<I", data, 0x230)[0] or 0x200000
        self.how = ""               # how load() put the kernel in RAM, for --stats


def _gdt() -> bytes:
    code64 = 0x00AF9A000000FFFF          # present, DPL 0, code, L=1, G
    data = 0x00CF92000000FFFF            # present, DPL 0, data, writable, B, G
    return struct.pack("<4Q", 0, 0, code64, data)


def _page_tables() -> bytes:
    """PML4 -> one PDPT -> four PDs of 2 MiB pages: physical 0-4 GiB at virtual 0-4 GiB."""
    pml4 = struct.pack("<Q", (PML4 + 0x1000) | 3).ljust(0x1000, b"\0")
    pdpt = b"".join(struct.pack("<Q", (PML4 + 0x2000 + i * 0x1000) | 3) for i in range(4)).ljust(0x1000, b"\0")
    pds = b"".join(struct.pack("<Q", (i << 21) | 0x83) for i in range(2048))
    return pml4 + pdpt + pds


def e820(ram_size: int, extra=()) -> list[tuple[int, int, int]]:
    return [(0, LOW_RAM_END, E820_RAM), (LOW_RAM_END, 0x100000 - LOW_RAM_END, E820_RESERVED),
            (0x100000, ram_size - 0x100000, E820_RAM), *extra]


def load(image: LinuxImage, machine, ram_size: int, cmdline: str, initrd: bytes = b"",
         reserved=(), rsdp: int = 0, decompress: str = "host") -> tuple[int, int]:
    """Put ``image`` (and ``initrd``) into ``machine``'s RAM; return (entry, zero page).
    ``rsdp``: where the ACPI tables start, if the machine has them.  ``decompress``:
    "host" or "guest", where the kernel is unpacked (see the module's docstring)."""
    vmlinux = _unpacked(image, decompress)
    if vmlinux is None:
        load_at = image.pref_address
        if load_at % image.alignment:
            load_at += image.alignment - load_at % image.alignment
        entry, kernel_end = load_at + 0x200, load_at + max(image.init_size, len(image.protected))
    else:
        load_at = vmlinux.base
        if load_at % image.alignment or load_at < 0x100000:
            raise BootError(f"the kernel ELF is linked at {load_at:#x}, not a multiple of its "
                            f"kernel_alignment {image.alignment:#x} above 1 MiB")
        entry, kernel_end = vmlinux.entry, max(load_at + image.init_size, vmlinux.end)
    initrd_at = 0
    if initrd:
        top = min(ram_size, image.initrd_max + 1)
        initrd_at = (top - len(initrd)) & ~0xFFF
        if initrd_at < kernel_end:
            need = (kernel_end + len(initrd) + (4 << 20)) >> 20
            raise TooLittleMemory(f"the kernel and its initrd need more guest RAM: use --mem {need}M or more")
    elif kernel_end + (16 << 20) > ram_size:
        raise TooLittleMemory(f"the kernel needs more guest RAM: use --mem {(kernel_end >> 20) + 32}M or more")
    cmd = cmdline.encode() + b"\0"
    if len(cmd) > image.cmdline_size:
        raise BootError(f"the command line is longer than this kernel's {image.cmdline_size} bytes")

    if vmlinux is None:
        machine.write(load_at, image.protected)
    else:
        for seg in vmlinux.segments:
            machine.write(seg.paddr, seg.data + bytes(seg.memsz - len(seg.data)))
    if initrd:
        machine.write(initrd_at, initrd)
    machine.write(GDT, _gdt())
    machine.write(PML4, _page_tables())
    machine.write(CMDLINE, cmd)

    zp = bytearray(4096)
    struct.pack_into("<Q", zp, 0x070, rsdp)            # acpi_rsdp_addr (protocol 2.14)
    zp[0x1F1:image.header_end] = image.data[0x1F1:image.header_end]
    zp[0x210] = 0xFF                                   # type_of_loader: undefined
    zp[0x211] |= LOADED_HIGH | CAN_USE_HEAP
    struct.pack_into("<I", zp, 0x214, load_at)         # code32_start: where it really is
    struct.pack_into("<II", zp, 0x218, initrd_at, len(initrd))
    struct.pack_into("<H", zp, 0x224, 0xFE00)          # heap_end_ptr
    struct.pack_into("<I", zp, 0x228, CMDLINE)
    entries = e820(ram_size, reserved)
    zp[0x1E8] = len(entries)
    for i, (addr, size, kind) in enumerate(entries):
        struct.pack_into("<QQI", zp, 0x2D0 + 20 * i, addr, size, kind)
    machine.write(ZERO_PAGE, bytes(zp))
    return entry, ZERO_PAGE


def _unpacked(image: LinuxImage, decompress: str):
    """The kernel proper decompressed on the host, or None (and why, in
    ``image.how``) when the guest is to unpack it."""
    if decompress != "host":
        image.how = "the kernel decompresses itself in the guest (asked for)"
        return None
    t0 = time.perf_counter()
    try:
        vmlinux = bzimage.unpack(image.data, image.setup_end)
    except bzimage.NoHostDecompressor as e:
        image.how = f"the kernel decompresses itself in the guest ({e})"
        return None
    image.how = (f"the kernel was decompressed on the host ({vmlinux.fmt}, {vmlinux.size / 2**20:.1f} MiB "
                 f"in {time.perf_counter() - t0:.2f} s) and entered at {vmlinux.entry:#x}")
    return vmlinux
