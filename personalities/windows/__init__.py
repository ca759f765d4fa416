"""The Windows personality (API emulation): PE32 and PE32+ console programs run
against Python re-implementations of the system DLLs, with no Windows files.

Imports are bound to thunk stubs that trap into the DLL tables under
``dlls/`` (see ``process.py`` for the trap path and ``spec.py`` for the
table format)."""
from __future__ import annotations


class WindowsPersonality:
    name = "windows"
    description = "Win32 API emulation (kernel32, msvcrt) for PE32/PE32+ console programs"

    def accepts(self, image) -> bool:
        return image.format == "pe" and image.arch in ("x86_64", "i386")

    def start(self, image, path: bytes, argv: list[bytes], envp: list[bytes], fs, *,
              tracer=None, count_instructions: bool = False, jail=None):
        from .process import ExecFailure, WindowsProcess
        from personalities.linux.process import ExecError
        if image.kind == "dll":
            raise ExecError(f"{path.decode(errors='replace')}: is a DLL, not a program", 126)
        try:
            return WindowsProcess(image, path, argv, envp, fs, tracer=tracer,
                                  count_instructions=count_instructions, jail=jail)
        except ExecFailure as e:
            raise ExecError(str(e), e.status) from None


PERSONALITY = WindowsPersonality()
