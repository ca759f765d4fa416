"""'#!' interpreter lines, parsed the way Linux's binfmt_script does."""
from __future__ import annotations

from .errors import LoaderError

MAX_LINE = 256      # Linux reads at most BINPRM_BUF_SIZE bytes of the first line


def parse_shebang(head: bytes, path: str = "") -> tuple[bytes, bytes | None]:
    """(interpreter, optional single argument) from a file starting with '#!'.

    Like Linux: everything after the interpreter name up to the end of the
    line is one argument, leading/trailing blanks stripped.
    """
    if not head.startswith(b"#!"):
        raise LoaderError(f"{path}: not a '#!' script")
    line = head[2:MAX_LINE].split(b"\n", 1)[0].strip(b" \t")
    if not line:
        raise LoaderError(f"{path}: empty '#!' line")
    parts = line.replace(b"\t", b" ").split(b" ", 1)
    interp = parts[0]
    arg = parts[1].strip(b" \t") if len(parts) > 1 else None
    return interp, (arg or None)


MAX_DEPTH = 4        # Linux allows a few nested interpreters, then ELOOP


def resolve_script(open_exec, path: bytes, argv: list[bytes]) -> tuple[bytes, list[bytes]]:
    """Follow '#!' lines like execve: the interpreter runs with the script path as argument.

    ``open_exec(path)`` returns an open binary file (the sandbox's view); an
    OSError from it is left to the caller's own open of the final path.
    """
    from .detect import detect_format
    for _ in range(MAX_DEPTH + 1):
        try:
            f = open_exec(path)
        except OSError:
            return path, argv
        with f:
            head = f.read(MAX_LINE)
        if detect_format(head) != "script":
            return path, argv
        interp, arg = parse_shebang(head, path.decode(errors="replace"))
        argv = [interp] + ([arg] if arg else []) + [path] + argv[1:]
        path = interp
    raise LoaderError(f"{argv[-1].decode(errors='replace')}: too many levels of '#!' interpreters")
