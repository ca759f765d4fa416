"""Removing a jail's temporary directories once no process of the jail is left.

A jail's overlay layer, ``--tmpfs`` directories and private ``/dev`` live in
temporary host directories.  Removing them when guise's own process ends is
not enough: a guest that dies by a signal (SIGKILL, a fatal SIGSEGV delivered
by the host kernel) skips every clean-up, and in a jail without a supervisor
the first process may end while others still run in the background and
still use the layer.

So a small remover process (the host's ``/bin/sh``, in a session of its own
so a terminal's Ctrl-C does not reach it) waits on a pipe whose write end
every process of the jail holds — a guest process is a forked emulator, so
each inherits it.  The kernel closes it as each one ends, however it ends;
when the last is gone the remover reads end-of-file and deletes the
directories.
"""
from __future__ import annotations

import os

SCRIPT = 'read -r _; chmod -R u+rwx "$@" 2>/dev/null; rm -rf "$@"'


class Remover:
    def __init__(self, paths: list[str]):
        read_end, self.fd = os.pipe()
        # posix_spawn rather than subprocess, whose import alone was a sixth of what a
        # jail adds to start-up.  Python's own descriptors are close-on-exec (PEP 446),
        # so the remover gets the pipe, /dev/null and only what guise itself inherited
        # open (which every guest process holds anyway).  It is never waited for: it
        # outlives guise when guests do.
        try:
            self.pid = os.posix_spawn("/bin/sh", ["/bin/sh", "-c", SCRIPT, "guise-cleanup", *paths],
                                      os.environ, setsid=True, file_actions=[
                                          (os.POSIX_SPAWN_DUP2, read_end, 0),
                                          (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                                          (os.POSIX_SPAWN_DUP2, 1, 2)])
        finally:
            os.close(read_end)

    def release(self) -> None:
        """This process no longer needs the directories (the last one to say so, or to
        die, lets the remover go ahead)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
