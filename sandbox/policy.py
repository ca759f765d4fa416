"""What a jailed guest may do beyond touching files: kernel-level operations,
network access, the identity it sees.

The policy speaks in operations, not in one OS's call names, so that the Linux
and Windows personalities ask the same questions: each personality maps its
own calls onto these operation names (for Linux: personalities/linux/confine.py).
A refusal is recorded in the audit log by whoever asks, with the call's name.
"""
from __future__ import annotations

import errno
import struct

# Operations refused to an --untrusted guest, with why each one is dangerous
# when the emulator runs with the invoking user's (possibly root's) rights.
UNTRUSTED_REFUSED = {
    "debug": "reads or writes another process's memory (ptrace, process_vm_*, kcmp, pidfd_getfd)",
    "mount": "changes the host's mount table",
    "namespace": "enters or makes namespaces (unshare, setns)",
    "bpf": "loads programs into the host kernel",
    "kexec": "replaces the host kernel",
    "module": "loads or removes host kernel modules",
    "reboot": "reboots or halts the host",
    "handle": "opens host files by handle, around any root (open_by_handle_at)",
    "perf": "observes the host's kernel and other processes",
    "keyring": "reaches the host's kernel key rings",
    "ioport": "reaches hardware I/O ports",
    "clock": "sets the host's clocks",
    "swap": "changes the host's swap",
    "system": "changes host-wide kernel settings (acct, quotactl, syslog, sysctl, domain name)",
    "device": "makes device nodes that would open host devices",
    "setid": "makes set-user-ID or set-group-ID files, which users of the host could run "
             "(the bits are dropped, the call goes on)",
}

# socket families a --net none/loopback guest may create (AF_UNIX stays inside the
# jail: its paths resolve through the jail's view, abstract names are refused)
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET = 1, 2, 10, 16, 17
UNTRUSTED_IDENTITY = (65534, 65534)      # nobody / nogroup


class Policy:
    def __init__(self, net: str = "host", untrusted: bool = False):
        self.net = net
        self.untrusted = untrusted
        # device nodes are refused in every jail: one would open a host device
        self.refused = frozenset(UNTRUSTED_REFUSED) if untrusted else frozenset({"device"})
        self.identity: tuple[int, int] | None = UNTRUSTED_IDENTITY if untrusted else None

    def refuses(self, operation: str) -> bool:
        return operation in self.refused

    def socket_family(self, family: int) -> None:
        """EACCES for a socket the network policy forbids."""
        if self.net == "host" and not (self.untrusted and family in (AF_NETLINK, AF_PACKET)):
            return
        allowed = {AF_UNIX} if self.net == "none" else {AF_UNIX, AF_INET, AF_INET6}
        if family not in allowed:
            raise OSError(errno.EACCES, f"network access refused by the jail (--net {self.net})")

    def address(self, raw: bytes, binding: bool = False) -> bytes:
        """Check a socket address the guest connects, sends or binds to, as raw
        sockaddr bytes; returns the address to use (with --net loopback a bind to
        the wildcard address is narrowed to loopback).  EACCES where refused."""
        if self.net == "host" or len(raw) < 2:
            return raw
        import ipaddress             # only jails without the host's network pay for these
        import socket
        family = struct.unpack_from("<H", raw)[0]
        if family == AF_UNIX:
            if len(raw) > 2 and raw[2] == 0:
                raise OSError(errno.EACCES, "abstract unix sockets reach outside the jail")
            return raw
        if family == AF_INET and len(raw) >= 8 and self.net == "loopback":
            addr = ipaddress.IPv4Address(raw[4:8])
            if binding and addr.is_unspecified:
                return raw[:4] + socket.inet_aton("127.0.0.1") + raw[8:]
            if addr.is_loopback:
                return raw
        if family == AF_INET6 and len(raw) >= 24 and self.net == "loopback":
            addr = ipaddress.IPv6Address(raw[8:24])
            if binding and addr.is_unspecified:
                return raw[:8] + ipaddress.IPv6Address("::1").packed + raw[24:]
            mapped = addr.ipv4_mapped
            if addr.is_loopback or mapped is not None and mapped.is_loopback:
                return raw
        if family == socket.AF_UNSPEC:
            return raw                       # connect(AF_UNSPEC) dissolves an association
        raise OSError(errno.EACCES, f"network access refused by the jail (--net {self.net})")
