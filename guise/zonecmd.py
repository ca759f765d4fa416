"""``guise zone …``: named, persistent jails (see sandbox/zones.py for how they are kept).

``add_parser`` hangs the ``zone`` command and its actions on the main parser;
``run`` carries one out.  Sandbox errors (bad names, unknown zones or
snapshots, busy mount points, a state dir that is not guise's) leave here as
one-line ``GuiseError``s with the status ``guise run`` gives a jail it cannot
set up (``exitcodes.USAGE``), and so do host errors on the state directory
(permissions, a full disk).
"""
from __future__ import annotations

import argparse

from sandbox.errors import SandboxError
from sandbox.jail import NET_MODES
from . import exitcodes
from .errors import GuiseError

STATE_HELP = "where zones are kept (default: $GUISE_ZONES, else ~/.local/share/guise/zones)"


def add_parser(subparsers) -> None:
    from .cli import COMMANDS
    # --state is accepted before or after the action: `guise zone --state D list`, `guise zone list --state D`
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument("--state", metavar="DIR", default=argparse.SUPPRESS, help=STATE_HELP)
    zone = subparsers.add_parser("zone", parents=[state], help=COMMANDS["zone"],
                                 description="Named, persistent jails: create one from a directory or a "
                                             "tar archive, run programs in it, snapshot, roll back, mount.")
    actions = zone.add_subparsers(dest="zone_action", required=True, metavar="ACTION")

    def action(name, help_text):
        return actions.add_parser(name, parents=[state], help=help_text, description=help_text)

    p = action("create", "create a zone from a copy of a directory or a tar archive (the source is never written)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--from", dest="source", required=True, metavar="DIR|TARBALL")
    p.add_argument("--hostname", metavar="H", help="what uname -n shows inside (default: NAME)")
    p.add_argument("--limit", default="", metavar="SPEC", help="as guise run --limit, e.g. cpu=10s,mem=256M")
    p.add_argument("--net", default="host", choices=NET_MODES)
    p.add_argument("--bind", action="append", default=[], metavar="HOST:GUEST[:ro]")
    action("list", "list the zones")
    p = action("show", "show a zone's settings and snapshots")
    p.add_argument("name", metavar="NAME")
    p = action("run", "run a program in a zone; its file changes persist")
    p.add_argument("name", metavar="NAME")
    p.add_argument("prog", metavar="PROG")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    from .cli import add_report_options            # (cli imports this module)
    add_report_options(p)
    for name, help_text in (("snapshot", "name the zone's current files (cheap: no copying)"),
                            ("rollback", "make the zone's files exactly those of a snapshot")):
        p = action(name, help_text)
        p.add_argument("name", metavar="NAME")
        p.add_argument("snap", metavar="SNAP")
    p = action("destroy", "remove a zone and all its snapshots")
    p.add_argument("name", metavar="NAME")
    p = action("mount", "show a zone's files at MOUNTPOINT (FUSE) until it is unmounted")
    p.add_argument("name", metavar="NAME")
    p.add_argument("mountpoint", metavar="MOUNTPOINT")
    p.add_argument("--read-only", action="store_true", help="refuse every write (EROFS)")
    p = action("umount", "unmount a zone mount")
    p.add_argument("mountpoint", metavar="MOUNTPOINT")


def run(args) -> int:
    from sandbox.zones import ZoneStore
    try:
        store = ZoneStore(getattr(args, "state", None))
        return ACTIONS[args.zone_action](store, args) or 0
    except SandboxError as e:
        raise GuiseError(str(e), exitcodes.USAGE) from None
    except OSError as e:
        if args.zone_action == "run":
            raise                       # from inside the guest's run: guise's own bug
        raise GuiseError(f"{e.filename or args.zone_action}: {e.strerror}", exitcodes.USAGE) from None


def _create(store, args):
    store.create(args.name, args.source, hostname=args.hostname, limits=args.limit,
                 net=args.net, binds=tuple(args.bind))


def _list(store, args):
    rows = [("NAME", "HOSTNAME", "SNAPSHOTS", "CREATED", "FROM")]
    for name in store.names():
        z = store.get(name)
        rows.append((name, z.data["hostname"], str(len(z.snapshots)), z.data["created"], z.data["source"]))
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])


def _show(store, args):
    z = store.get(args.name)
    d = z.data
    binds = ", ".join(f"{b['host']}:{b['guest']}" + (":ro" if b["ro"] else "") for b in d["binds"])
    rows = [("name", z.name), ("hostname", d["hostname"]), ("from", d["source"]),
            ("created", d["created"]), ("net", d["net"]), ("limits", d["limits"] or "-"),
            ("binds", binds or "-"), ("layers", str(len(d["layers"]))),
            ("in use", "yes" if z.busy() else "no"), ("path", z.path)]
    for key, value in rows:
        print(f"{key + ':':<10} {value}")
    print("snapshots:" + ("" if z.snapshots else " -"))
    for snap, info in z.snapshots.items():
        print(f"  {snap}  {info['created']}")


def _run(store, args):
    from .cli import run_program
    z = store.get(args.name)
    with z.in_use():
        return run_program(args, [args.prog] + args.args, z.jail_config())


def _snapshot(store, args):
    store.get(args.name).snapshot(args.snap)


def _rollback(store, args):
    store.get(args.name).rollback(args.snap)


def _destroy(store, args):
    store.get(args.name).destroy()


def _mount(store, args):
    from sandbox.fusemount import mount
    mount(store.get(args.name), args.mountpoint, read_only=args.read_only)


def _umount(store, args):
    from sandbox.fusemount import umount
    umount(args.mountpoint)


ACTIONS = {"create": _create, "list": _list, "show": _show, "run": _run, "snapshot": _snapshot,
           "rollback": _rollback, "destroy": _destroy, "mount": _mount, "umount": _umount}
