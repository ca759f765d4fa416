"""The jail's audit log: one JSON object per line for every denied operation and
every file open, exec, connect and limit hit, from every process of the jail.

All processes append to one file opened O_APPEND, one ``write`` per event, so
lines from concurrent processes never interleave.  Events are formatted only
when a jail asks for an audit: the personality wraps just the audited calls.

Event fields: ``time`` (Unix seconds), ``pid``, ``call`` (syscall or API name),
``path`` (the guest path, when the call names one), ``decision`` ("allow",
"deny" or "limit"), ``errno`` (the error name when the call failed), plus
``detail`` where there is more to say (an address, the limit's name).
"""
from __future__ import annotations

import collections
import errno as E
import json
import os
import tempfile
import time
from typing import Iterator, Optional

from .errors import SandboxError


class Audit:
    def __init__(self, path: Optional[str] = None):
        """``path`` None: a private temporary file (for ``--audit-summary`` alone)."""
        self.temporary = path is None
        if path is None:
            fd, path = tempfile.mkstemp(prefix="guise-audit-", suffix=".jsonl")
            os.close(fd)
        self.path = path
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise SandboxError(f"--audit {path}: {e.strerror}") from None
        self._owner = os.getpid()

    def event(self, call: str, decision: str, path: Optional[bytes | str] = None,
              err: Optional[int] = None, detail: Optional[str] = None) -> None:
        ev = {"time": round(time.time(), 6), "pid": os.getpid(), "call": call}
        if path is not None:
            ev["path"] = os.fsdecode(path) if isinstance(path, bytes) else path
        ev["decision"] = decision
        if err:
            ev["errno"] = E.errorcode.get(err, str(err))
        if detail:
            ev["detail"] = detail
        try:
            os.write(self._fd, (json.dumps(ev, ensure_ascii=False) + "\n").encode())
        except OSError:
            pass            # a full disk must not change what the guest sees

    def events(self) -> Iterator[dict]:
        """Every event recorded so far, oldest first (for Python callers and the summary)."""
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue
        except OSError:
            return

    def summary(self, top: int = 8) -> str:
        """One screen: counts by decision and call, the most denied paths, limit hits."""
        events = list(self.events())
        decisions = collections.Counter(e["decision"] for e in events)
        denied = [e for e in events if e["decision"] != "allow"]
        by_call = collections.Counter((e["call"], e.get("errno", "")) for e in denied)
        paths = collections.Counter(e["path"] for e in denied if "path" in e)
        execs = [e.get("path", "?") for e in events if e["call"] in ("execve", "execveat") and e["decision"] == "allow"]
        lines = [f"--- guise audit: {len(events)} events "
                 f"({', '.join(f'{n} {d}' for d, n in sorted(decisions.items())) or 'none'}) ---"]
        if not self.temporary:
            lines.append(f"log: {self.path}")
        if execs:
            shown = collections.Counter(execs).most_common(top)
            lines.append("executed: " + ", ".join(f"{p} x{n}" if n > 1 else p for p, n in shown))
        if by_call:
            lines.append("refused:")
            lines += [f"  {n:>7}  {call}{' ' + err if err else ''}" for (call, err), n in by_call.most_common(top)]
        if paths:
            lines.append("most refused paths:")
            lines += [f"  {n:>7}  {p}" for p, n in paths.most_common(top)]
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        if os.getpid() != self._owner:
            return
        try:
            os.close(self._fd)
        except OSError:
            pass
        if self.temporary:
            try:
                os.unlink(self.path)
            except OSError:
                pass
