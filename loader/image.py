"""The loader's output: a format-neutral description of an executable."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Segment:
    """One loadable segment: ``filesz`` bytes of ``data`` then zeros up to ``memsz``."""
    vaddr: int
    memsz: int
    filesz: int
    offset: int
    prot: int          # PROT_READ | PROT_WRITE | PROT_EXEC bits (hw.cpu constants)
    data: bytes = b""


@dataclasses.dataclass
class TlsTemplate:
    vaddr: int
    filesz: int
    memsz: int
    align: int


@dataclasses.dataclass
class Image:
    format: str                 # 'elf' or 'pe'
    arch: str                   # 'x86_64' or 'i386'
    bits: int
    entry: int                  # relative to the load bias for PIE / shared objects
    segments: list[Segment]
    position_independent: bool  # ET_DYN: may be loaded at any page-aligned bias
    kind: str = "exec"          # 'exec' | 'dyn' | 'rel' | 'core' ...
    interpreter: str | None = None
    needed: list[str] = dataclasses.field(default_factory=list)
    soname: str | None = None
    tls: TlsTemplate | None = None
    exec_stack: bool = False
    phdr_vaddr: int | None = None    # program headers' address in memory, unbiased
    phentsize: int = 0
    phnum: int = 0
    abi: str = "linux"          # which personality family the image asks for
    path: str = ""
    details: dict = dataclasses.field(default_factory=dict)

    @property
    def static(self) -> bool:
        return self.interpreter is None

    @property
    def span(self) -> tuple[int, int]:
        """Lowest and highest (exclusive) unbiased virtual address of the segments."""
        lo = min(s.vaddr for s in self.segments)
        hi = max(s.vaddr + s.memsz for s in self.segments)
        return lo, hi
