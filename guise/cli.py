"""The ``guise`` command line.  Errors become one line and an exit status here, and only here."""
from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import threading

from . import exitcodes
from .errors import GuiseError

RUN_EPILOG = "exit status:\n  the guest's own status, or 128+N when it died by signal N (as a shell shows it);\n" + \
    "\n".join(f"  {code:<4} {text}" for code, text in exitcodes.TABLE) + \
    "\n\nA guest fault that Linux answers with a signal (SIGSEGV, SIGILL, SIGFPE, SIGBUS) ends guise\n" \
    "with that same signal, silently as on Linux; -v prints a one-line reason."


# Each command's line in `guise --help`.  Only the command being run gets its whole
# parser (with its module): building every one, with argparse's per-string
# translation lookups, took a tenth of a static program's start-up.
COMMANDS = {"run": "run a program",
            "info": "describe an executable and the personality that would run it",
            "zone": "named, persistent jails with snapshots",
            "vm": "run a whole guest OS on a virtual PC"}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="guise", description="Run Linux (and later Windows) programs on an emulated x86 CPU.")
    ap.add_argument("--version", action="version", version=f"guise {__import__('guise').__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, text in COMMANDS.items():
        if wanted in COMMANDS and name != wanted:
            sub.add_parser(name, help=text)
        elif name == "run":
            _add_run_parser(sub)
        elif name == "info":
            sub.add_parser("info", help=text).add_argument("prog", metavar="PROG")
        else:
            _command_module(name).add_parser(sub)
    return ap


def _command_module(name: str):
    if name == "zone":
        from . import zonecmd
        return zonecmd
    from . import vmcmd
    return vmcmd


def _add_run_parser(sub) -> None:
    run = sub.add_parser("run", help=COMMANDS["run"], epilog=RUN_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Run PROG with ARGS on the emulated CPU, with the host's files and environment.")
    add_report_options(run)
    add_jail_options(run)
    run.add_argument("prog", metavar="PROG", help="the program: a path, or a name looked up on PATH")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments for PROG")


def add_report_options(ap: argparse.ArgumentParser) -> None:
    """What `guise run` (and `guise zone run`) can report about a run."""
    ap.add_argument("--trace", action="store_true", help="print every system call on stderr, strace style")
    ap.add_argument("--trace-json", metavar="FILE", help="write every system call as one JSON object per line to FILE")
    ap.add_argument("-f", "--follow-forks", action="store_true",
                    help="with --trace: tag each line with the pid of the process that made the call, like strace -f")
    ap.add_argument("--stats", action="store_true", help="print a summary at exit: syscalls by name, unimplemented ones, time")
    ap.add_argument("--count-instructions", action="store_true", help="count executed instructions (slow)")
    ap.add_argument("-v", "--verbose", action="store_true", help="say why the guest stopped when it died by a fault")


def add_jail_options(ap: argparse.ArgumentParser) -> None:
    from sandbox.limits import GRACE, UNTRUSTED_DEFAULTS
    j = ap.add_argument_group("jail", "confine the program (any of these makes a jail; see README)")
    j.add_argument("--root", metavar="DIR[:ro|:rw]",
                   help="show host directory DIR as / (':ro' read-only; ':rw' stays writable under --untrusted)")
    j.add_argument("--overlay", action="store_true",
                   help="copy-on-write over the root: the guest writes anywhere, the root is never modified")
    j.add_argument("--bind", action="append", default=[], metavar="HOST:GUEST[:ro]",
                   help="show host directory or file HOST at guest path GUEST")
    j.add_argument("--tmpfs", action="append", default=[], metavar="GUEST",
                   help="a private empty directory at GUEST, removed at exit")
    j.add_argument("--cwd", metavar="GUEST", help="the guest's working directory (default: / in a --root jail)")
    j.add_argument("--env", action="append", default=[], metavar="K=V", help="set a guest environment variable")
    j.add_argument("--hostname", metavar="H", help="the host name the guest sees (uname -n)")
    j.add_argument("--untrusted", action="store_true",
                   help="profile for hostile code: overlay root, --net none, kernel-level calls (ptrace, mount, "
                        "bpf, modules, reboot, ...) refused, uid/gid shown as nobody, and the limits "
                        f"{UNTRUSTED_DEFAULTS} unless --limit says otherwise")
    j.add_argument("--net", choices=("none", "loopback", "host"), help="network policy (default host; none when --untrusted)")
    j.add_argument("--limit", metavar="SPEC", default="",
                   help="cpu=10s,mem=256M,files=64,procs=16,disk=50M,output=1M,time=60s, for all the jail's "
                        "processes together. mem, procs and disk refuse the call (ENOMEM, EAGAIN, ENOSPC) and end "
                        f"the jail {GRACE:g} s later; files only refuses (EMFILE); cpu, output and time end it at once")
    j.add_argument("--audit", metavar="FILE.jsonl", help="record denied operations, opens, execs, connects and limit hits")
    j.add_argument("--audit-summary", action="store_true", help="print a summary of the audit at exit")


def jail_config(args):
    """A JailConfig from ``guise run`` options, or None when none asks for a jail."""
    wanted = (args.root, args.overlay, args.bind, args.tmpfs, args.cwd, args.hostname, args.untrusted,
              args.net, args.limit, args.audit, args.audit_summary)
    if not any(wanted) and not args.env:
        return None
    from sandbox.jail import Bind, JailConfig
    cfg = JailConfig()
    if args.root:
        cfg.set_root(args.root)
    elif any(wanted) and not args.untrusted:
        cfg.root = "/"                       # a jail over the host root (e.g. only --limit or --net)
    cfg.overlay = args.overlay
    cfg.binds = [Bind.parse(b) for b in args.bind]
    cfg.tmpfs = list(args.tmpfs)
    cfg.cwd = args.cwd
    for kv in args.env:
        k, eq, v = kv.partition("=")
        if not eq or not k:
            raise GuiseError(f"--env {kv}: expected K=V", exitcodes.USAGE)
        cfg.env[k] = v
    cfg.hostname = args.hostname
    cfg.net = args.net or "host"
    cfg.limits = args.limit
    cfg.audit = args.audit
    cfg.audit_summary = args.audit_summary
    if args.untrusted:
        cfg.apply_untrusted(net_given=args.net is not None)
    if cfg.root is not None and os.path.realpath(cfg.root) == "/" and cfg.cwd is None:
        cfg.stay_in(os.getcwd())             # the host root shown as /: stay where the user is
    return cfg if cfg.jailed else None


# guise's own messages go to a copy of the original stderr, so that a guest
# closing or redirecting its fd 2 does not silence them.
_MSG_FD = 2


def _message(text: str) -> None:
    os.write(_MSG_FD, f"guise: {text}\n".encode(errors="replace"))


def _die_by_signal(sig: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))   # no core of the emulator itself
    except (ValueError, OSError):
        pass
    if sig not in (signal.SIGKILL, signal.SIGSTOP):      # those cannot be caught or blocked
        # libc's signal(), not Python's, which works only in the main thread: a guest
        # thread other than the first may be the one that ends the process
        import ctypes
        ctypes.CDLL(None).signal(sig, ctypes.c_void_p(0))  # SIG_DFL
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
    # to this thread, which takes it on the way back from the call; sent to the process,
    # another thread would take it while this one went on to os._exit
    signal.pthread_kill(threading.get_ident(), sig)
    os._exit(128 + sig)


def _restore_default_signals() -> None:
    """Python ignores SIGPIPE and SIGXFSZ and catches SIGINT; a guest expects Linux defaults."""
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)


def cmd_run(args) -> int:
    return run_program(args, [args.prog] + args.args, jail_config(args), env=_plain_env(args))


def _plain_env(args):
    """`--env` without a jail only adds to the caller's environment."""
    if not args.env or jail_config(args) is not None:
        return None
    env = dict(os.environ)
    env.update(kv.partition("=")[::2] for kv in args.env)
    return env


def run_program(args, argv: list[str], config, env=None) -> int:
    """Run ``argv`` (jailed by ``config`` unless None) with the reporting options of
    ``guise run`` in ``args``; the exit status for guise.  `guise zone run` uses it too."""
    jail = None
    if config is not None:
        from sandbox import SandboxError
        from sandbox.jail import build_jail
        try:
            jail = build_jail(config)
        except SandboxError as e:
            raise GuiseError(str(e), exitcodes.USAGE) from None
    try:
        if jail is not None and jail.supervised:
            from sandbox.supervisor import supervise
            outcome = supervise(jail, lambda: _guest_process(args, argv, jail, env))
            if outcome.message:
                _message(outcome.message)
            if config.audit_summary:
                os.write(_MSG_FD, jail.audit.summary().encode(errors="replace"))
            status, sig = outcome.status, outcome.signal
        else:
            status, sig = _run(args, argv, jail, env)
    finally:
        if jail is not None:
            jail.close()                 # before dying by the guest's signal, which skips it
    if sig is not None:
        _die_by_signal(sig)
    return status


def _guest_process(args, argv, jail, env) -> None:
    """The jail's first process (a child of its supervisor): run, then end as the guest did."""
    result = _guarded(lambda: _run(args, argv, jail, env))
    status, sig = result if isinstance(result, tuple) else (result, None)
    if sig is not None:
        _die_by_signal(sig)
    sys.stdout.flush()
    os._exit(status)


def _run(args, argv, jail, env) -> tuple[int | None, int | None]:
    """Run to the end; (exit status, None) or (None, the signal the guest died by)."""
    from .api import start
    tracer = None
    json_stream = None
    if args.trace or args.trace_json:
        from personalities.linux.trace import Tracer
        if args.trace_json:
            try:
                json_stream = open(args.trace_json, "w")
            except OSError as e:
                raise GuiseError(f"--trace-json {args.trace_json}: {e.strerror}", exitcodes.USAGE) from None
        err = os.fdopen(os.dup(_MSG_FD), "w") if args.trace else None
        tracer = Tracer(err, json_stream, tag_pid=args.follow_forks)
    proc = start(argv, env, jail=jail, tracer=tracer, count_instructions=args.count_instructions)
    proc.group.finisher = lambda result: _end_now(_report(args, result, json_stream), jail)
    _restore_default_signals()
    return _report(args, proc.run(), json_stream)


# Taken by the one thread that reports how the run ended; guise then exits from it.
_ENDING = threading.Lock()


def _report(args, result, json_stream) -> tuple[int | None, int | None]:
    """Report the run as asked; the (status, signal) guise ends with."""
    _ENDING.acquire()                    # never released: the process ends after this
    if json_stream:
        json_stream.close()
    if args.stats:
        print_stats(result)
    if result.message and (args.verbose or args.trace or args.stats or result.guise_status):
        _message(result.message)
    if result.guise_status is not None:
        return result.guise_status, None
    return result.exit_status, result.signal


def _end_now(outcome: tuple[int | None, int | None], jail) -> None:
    """End guise from a guest thread other than the first, which ended the process
    (exit_group, a fatal signal).  The first may be blocked in a host call (a read on a
    terminal or pipe), and Linux ends every thread of the group at once."""
    status, sig = outcome
    if jail is not None and not jail.supervised:
        jail.close()
    if sig is not None:
        _die_by_signal(sig)
    sys.stdout.flush()
    os._exit(status)


def print_stats(result) -> None:
    lines = ["--- guise stats ---"]
    total = sum(result.syscalls.values())
    lines.append(f"wall time: {result.wall:.3f} s   syscalls: {total}")
    if result.instructions is not None:
        lines.append(f"instructions: {result.instructions}")
    for name, count in sorted(result.syscalls.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {count:>9}  {name}")
    if result.unimplemented:
        lines.append("unimplemented (answered ENOSYS/ENOTTY/EINVAL):")
        for name, count in sorted(result.unimplemented.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {count:>9}  {name}")
    os.write(_MSG_FD, ("\n".join(lines) + "\n").encode())


def cmd_info(args) -> int:
    import sandbox
    from .api import inspect
    fs = sandbox.default_view()
    image, pers = inspect(args.prog, fs)
    if image.format == "pe":
        from personalities.windows.report import describe, dll_finder
        rows = [("file", args.prog)] + describe(image, dll_finder(image, fs)) + \
            [("personality", f"{pers.name} ({pers.description})" if pers else "none")]
        width = max(len(k) for k, _ in rows)
        for k, v in rows:
            print(f"{k:<{width}}  {v}")
        return 0
    rows = [("file", args.prog), ("format", image.format.upper()),
            ("class", f"ELF{image.bits}" if image.format == "elf" else f"{image.bits}-bit"),
            ("machine", image.arch), ("type", "PIE / shared object" if image.position_independent else "fixed address"),
            ("linkage", "static" if image.static else "dynamic"),
            ("interpreter", image.interpreter or "-"), ("needed", ", ".join(image.needed) or "-"),
            ("entry", hex(image.entry)), ("TLS", "yes" if image.tls else "no"),
            ("executable stack", "yes" if image.exec_stack else "no"),
            ("personality", f"{pers.name} ({pers.description})" if pers else "none")]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def _guarded(fn):
    """``fn()``, with guise's errors turned into a one-line message and their status."""
    try:
        return fn()
    except GuiseError as e:
        _message(str(e))
        status = e.status
    except KeyboardInterrupt:
        status = 128 + signal.SIGINT
    except Exception as e:    # a bug in guise: one line, a distinct status, details on request
        _message(f"internal error: {type(e).__name__}: {e}")
        if os.environ.get("GUISE_DEBUG"):
            raise
        status = exitcodes.INTERNAL
    return status


def main(argv=None) -> int:
    global _MSG_FD
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        _MSG_FD = os.dup(2)
    except OSError:
        _MSG_FD = 2
    handler = {"run": cmd_run, "info": cmd_info}.get(args.command) or _command_module(args.command).run
    status = _guarded(lambda: handler(args))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
