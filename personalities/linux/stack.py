"""The initial process stack: argc, argv, envp, auxv and the strings they point to.

Layout (top down), as Linux's create_elf_tables builds it: the execfn string,
environment strings, argument strings, the platform string, 16 random bytes,
then (16-byte aligned) argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL.
"""
from __future__ import annotations

import os

AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_MINSIGSTKSZ = 23, 25, 26, 31, 51
AUX_NAMES = {v: k for k, v in dict(globals()).items() if k.startswith("AT_")}


def build_stack(mem, sp: int, argv: list[bytes], envp: list[bytes], execfn: bytes,
                platform: bytes, aux: list[tuple[int, int]]) -> tuple[int, bytes]:
    """Write the initial stack below ``sp``; return the new sp and the raw auxv bytes."""
    ps = mem.ptr_size

    def push_bytes(data: bytes) -> int:
        nonlocal sp
        sp -= len(data)
        mem.write(sp, data)
        return sp

    sp -= ps                                   # end marker, like Linux
    execfn_addr = push_bytes(execfn + b"\0")
    env_addrs = [push_bytes(e + b"\0") for e in reversed(envp)][::-1]
    arg_addrs = [push_bytes(a + b"\0") for a in reversed(argv)][::-1]
    platform_addr = push_bytes(platform + b"\0")
    sp &= ~15
    random_addr = push_bytes(os.urandom(16))
    aux = aux + [(AT_PLATFORM, platform_addr), (AT_RANDOM, random_addr),
                 (AT_EXECFN, execfn_addr), (AT_NULL, 0)]
    words = [len(argv)] + arg_addrs + [0] + env_addrs + [0]
    for k, v in aux:
        words += [k, v]
    sp -= ps * len(words)
    sp &= ~15
    blob = b"".join(int(w).to_bytes(ps, "little") for w in words)
    mem.write(sp, blob)
    auxv = blob[ps * (len(argv) + len(envp) + 3):]
    return sp, auxv
