"""The Linux personality: runs ELF programs for i386 and x86-64 through the
syscall ABI (``int 0x80`` and ``syscall``), beneath the program's own libc."""
from __future__ import annotations

from .abi import ABIS


class LinuxPersonality:
    name = "linux"
    description = "Linux syscall ABI (x86-64 syscall, i386 int 0x80)"

    def accepts(self, image) -> bool:
        return image.format == "elf" and image.arch in ABIS

    def start(self, image, path: bytes, argv: list[bytes], envp: list[bytes], fs, *,
              tracer=None, count_instructions: bool = False, jail=None):
        from .process import LinuxProcess
        proc = LinuxProcess(image.arch, fs, tracer=tracer, count_instructions=count_instructions,
                            jail=jail)
        if proc.fds.quota is not None:
            proc.fds.quota.set_files(proc.fds.open)     # the descriptors it starts with
        proc.exec(path, argv, envp, image=image)
        return proc


PERSONALITY = LinuxPersonality()
