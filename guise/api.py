"""The wiring of the layers: sandbox -> loader -> personality -> run."""
from __future__ import annotations

import os
from collections.abc import Sequence

import sandbox
from loader import LoaderError, load_image, script
from . import exitcodes
from .errors import GuiseError


def find_program(fs, prog: str, search: str | None = None) -> bytes:
    """Like execvp: a name without '/' is searched on the guest's PATH inside its view."""
    if "/" in prog:
        return os.fsencode(prog)
    for d in (search or "/usr/local/bin:/usr/bin:/bin").split(":"):
        cand = os.fsencode(os.path.join(d or ".", prog))
        try:
            st = fs.stat(cand)
        except OSError:
            continue
        if st.st_mode & 0o170000 == 0o100000 and st.st_mode & 0o111:
            return cand
    raise GuiseError(f"{prog}: command not found", exitcodes.NOT_FOUND)


def open_image(fs, path: bytes):
    try:
        f, abspath = fs.open_exec(path)
    except OSError as e:
        f = _open_pe(fs, path) if e.errno == 13 else None
        if f is None:
            status = exitcodes.NOT_FOUND if e.errno == 2 else exitcodes.CANNOT_EXECUTE
            raise GuiseError(f"{os.fsdecode(path)}: {e.strerror}", status) from None
        abspath = fs.fd_path(f.fileno()) or fs.absolute(path)
    with f:
        try:
            image = load_image(f, os.fsdecode(path))
        except LoaderError as e:
            raise GuiseError(str(e), exitcodes.CANNOT_EXECUTE) from None
    image.details["resolved"] = abspath
    return image


def _open_pe(fs, path: bytes):
    """A Windows program needs no execute bit (Windows has none; Wine runs such files
    too): a readable regular file that starts with "MZ" opens through the view anyway."""
    try:
        fd = fs.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    f = os.fdopen(fd, "rb")
    try:
        if os.fstat(fd).st_mode & 0o170000 == 0o100000 and f.read(2) == b"MZ":
            f.seek(0)
            return f
    except OSError:
        pass
    f.close()
    return None


def resolve_script(fs, path: bytes, argv: list[bytes]) -> tuple[bytes, list[bytes]]:
    try:
        return script.resolve_script(lambda q: fs.open_exec(q)[0], path, argv)
    except LoaderError as e:
        raise GuiseError(str(e), exitcodes.CANNOT_EXECUTE) from None


def inspect(prog: str, fs=None):
    """Load ``prog`` and return (image, personality or None)."""
    from personalities import choose
    fs = fs or sandbox.default_view()
    image = open_image(fs, find_program(fs, prog, os.environ.get("PATH")))
    return image, choose(image)


def guest_env(jail=None) -> dict:
    """The environment a guest starts with: the caller's, or for an untrusted jail
    a minimal one (nothing of the host's secrets), then the jail's ``--env``."""
    if jail is None:
        return dict(os.environ)
    cfg = jail.config
    if cfg.untrusted:
        env = {k: os.environ[k] for k in ("TERM", "LANG", "LC_ALL") if k in os.environ}
        env.update(PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", HOME="/")
    else:
        env = dict(os.environ)
    env.update(cfg.env)
    return env


def start(argv: Sequence[str], env: dict | None = None, *, fs=None, jail=None, tracer=None,
          count_instructions: bool = False):
    """Build the guest process for ``argv`` without running it.  ``jail`` (from
    ``sandbox.build_jail``) confines it; else ``fs`` or the host's own view."""
    from personalities import choose
    from personalities.linux.process import ExecError
    fs = jail.fs if jail is not None else (fs or sandbox.default_view())
    env = guest_env(jail) if env is None else env
    path, gargv = resolve_script(fs, find_program(fs, argv[0], env.get("PATH")),
                                 [os.fsencode(a) for a in argv])
    image = open_image(fs, path)
    pers = choose(image)
    if pers is None:
        raise GuiseError(f"{argv[0]}: no personality runs {image.format}/{image.arch} programs",
                         exitcodes.CANNOT_EXECUTE)
    envp = [os.fsencode(k) + b"=" + os.fsencode(v) for k, v in env.items()]
    try:
        return pers.start(image, path, gargv, envp, fs, tracer=tracer,
                          count_instructions=count_instructions, jail=jail)
    except ExecError as e:
        raise GuiseError(str(e), e.status) from None


def run(argv: Sequence[str], env: dict | None = None, **kw):
    """Run a program to its end in this process; returns a ProcessResult."""
    return start(argv, env, **kw).run()
