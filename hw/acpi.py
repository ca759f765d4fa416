"""The firmware tables (ACPI 6) that describe this PC to a Linux guest.

A PC's firmware tells the OS what it cannot probe.  Here that is three
things: how to power off (the FADT's PM1a control block and the DSDT's
``\\_S5`` sleep type, served by ``hw/devices/pm.py``), that there is no
keyboard controller to probe and no VGA (IAPC_BOOT_ARCH; the i8042 still
answers the reset command a reboot uses), and where the virtio-mmio devices
are: Debian's kernel is built without ``virtio_mmio.device=`` command-line
devices, and its virtio_mmio driver matches ACPI devices with the _HID
``LNRO0005`` instead, each with its register window and interrupt in _CRS.

The tables sit in the BIOS area below 1 MiB (reserved in the E820 map): the
RSDP at ``base`` (Linux finds it through boot_params.acpi_rsdp_addr or by
scanning 0xE0000-0xFFFFF), then the XSDT, FADT, FACS and DSDT.  The DSDT's
AML is written here byte by byte: a few Name and Device objects.
"""
from __future__ import annotations

import struct

from .devices.pm import PM1_CNT, PM1_EVT, PM_TMR, SCI_IRQ, SLP_TYP_S5

OEM_ID, OEM_TABLE = b"GUISE ", b"GUISEPC "
BOOT_ARCH_NO_VGA = 1 << 2            # IAPC_BOOT_ARCH: no 8042 bit (1 << 1), so none to probe
FADT_WBINVD, FADT_PWR_BUTTON, FADT_SLP_BUTTON, FADT_TMR_VAL_EXT = 1, 1 << 4, 1 << 5, 1 << 8
VIRTIO_MMIO_HID = "LNRO0005"


def _checksum(data: bytes) -> int:
    return -sum(data) & 0xFF


def _table(signature: bytes, revision: int, body: bytes) -> bytes:
    length = 36 + len(body)
    head = struct.pack("<4sIBB6s8sI4sI", signature, length, revision, 0, OEM_ID, OEM_TABLE, 1,
                       b"GUIS", 1)
    table = bytearray(head + body)
    table[9] = _checksum(table)
    return bytes(table)


# -- AML ----------------------------------------------------------------------------
def _pkg_length(body_len: int) -> bytes:
    """PkgLength: counts itself; one byte up to 63, else a lead byte and 1-3 more."""
    for extra in range(4):
        total = body_len + 1 + extra
        if extra == 0 and total < 0x40:
            return bytes([total])
        if extra and total < 1 << (4 + 8 * extra):
            return bytes([extra << 6 | total & 0xF]) + (total >> 4).to_bytes(extra, "little")
    raise ValueError("AML package too long")


def _name(seg: str) -> bytes:
    return seg.ljust(4, "_").encode()


def _integer(n: int) -> bytes:
    if n in (0, 1):
        return bytes([n])                            # ZeroOp, OneOp
    if n < 0x100:
        return b"\x0A" + bytes([n])                  # BytePrefix
    if n < 0x10000:
        return b"\x0B" + struct.pack("<H", n)
    return b"\x0C" + struct.pack("<I", n)


def aml_name(name: str, value: bytes) -> bytes:
    """Name(name, value): ``value`` is already encoded AML."""
    return b"\x08" + _name(name) + value


def aml_string(text: str) -> bytes:
    return b"\x0D" + text.encode() + b"\0"


def aml_package(*items: int) -> bytes:
    body = bytes([len(items)]) + b"".join(_integer(i) for i in items)
    return b"\x12" + _pkg_length(len(body)) + body


def aml_buffer(data: bytes) -> bytes:
    body = _integer(len(data)) + data
    return b"\x11" + _pkg_length(len(body)) + body


def aml_device(name: str, *terms: bytes) -> bytes:
    body = _name(name) + b"".join(terms)
    return b"\x5B\x82" + _pkg_length(len(body)) + body


def mmio_resources(base: int, size: int, irq: int) -> bytes:
    """_CRS: Memory32Fixed(ReadWrite, base, size) and an edge-triggered, active-high,
    exclusive Interrupt(ResourceConsumer) on ``irq``, then the end tag."""
    memory = struct.pack("<BHBII", 0x86, 9, 1, base, size)
    interrupt = struct.pack("<BHBBI", 0x89, 6, 0b0011, 1, irq)
    return memory + interrupt + b"\x79\x00"


def virtio_mmio_device(index: int, base: int, size: int, irq: int) -> bytes:
    return aml_device(f"VR{index:02X}", aml_name("_HID", aml_string(VIRTIO_MMIO_HID)),
                      aml_name("_UID", _integer(index)),
                      aml_name("_CRS", aml_buffer(mmio_resources(base, size, irq))))


# -- tables -------------------------------------------------------------------------
def _fadt(facs: int, dsdt: int) -> bytes:
    body = bytearray(276 - 36)

    def put(offset: int, fmt: str, *values) -> None:
        struct.pack_into(fmt, body, offset - 36, *values)
    put(36, "<II", facs, dsdt)
    put(46, "<H", SCI_IRQ)
    put(56, "<I", PM1_EVT)
    put(64, "<I", PM1_CNT)
    put(76, "<I", PM_TMR)
    put(88, "<BBBB", 4, 2, 0, 4)                     # PM1 event, PM1 control, PM2, timer lengths
    put(96, "<HH", 101, 1001)                        # C2/C3 latencies: not supported
    put(109, "<H", BOOT_ARCH_NO_VGA)
    put(112, "<I", FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_TMR_VAL_EXT)
    put(131, "<B", 0)                                # FADT minor version
    put(140, "<Q", dsdt)                             # X_DSDT
    return _table(b"FACP", 6, bytes(body))


def _facs() -> bytes:
    return struct.pack("<4sIIIIIQB", b"FACS", 64, 0, 0, 0, 0, 0, 2).ljust(64, b"\0")


def tables(base: int, virtio=()) -> bytes:
    """The tables as one blob to write at guest-physical ``base`` (16-byte aligned,
    in 0xE0000-0xFFFFF); ``virtio``: (base, size, irq) of each virtio-mmio device."""
    aml = aml_name("_S5", aml_package(SLP_TYP_S5, SLP_TYP_S5, 0, 0))
    aml += b"".join(virtio_mmio_device(i, *dev) for i, dev in enumerate(virtio))
    dsdt = _table(b"DSDT", 2, aml)
    rsdp_len, xsdt_len, fadt_len, facs_len = 36, 36 + 8, 276, 64
    xsdt_at = base + 48
    fadt_at = xsdt_at + xsdt_len
    facs_at = (fadt_at + fadt_len + 63) & ~63                # FACS: 64-byte aligned
    dsdt_at = facs_at + facs_len
    xsdt = _table(b"XSDT", 1, struct.pack("<Q", fadt_at))
    rsdp = bytearray(struct.pack("<8sB6sBIIQBxxx", b"RSD PTR ", 0, OEM_ID, 2, 0, rsdp_len, xsdt_at, 0))
    rsdp[8] = _checksum(rsdp[:20])
    rsdp[32] = _checksum(rsdp)
    blob = bytearray(dsdt_at - base + len(dsdt))
    for at, data in ((base, rsdp), (xsdt_at, xsdt), (fadt_at, _fadt(facs_at, dsdt_at)),
                     (facs_at, _facs()), (dsdt_at, dsdt)):
        blob[at - base:at - base + len(data)] = data
    return bytes(blob)
