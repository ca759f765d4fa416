"""The Windows personality's rows (issue 6's speed targets), run at the end of bench/run.py.

- hello.exe start to exit (samples/bin/hello-x64.exe): guise against wine64 with a warm
  prefix of its own (started once before timing) and Speakeasy (from its own venv under
  bench/.peers, never a dependency of guise; a run it cannot finish is recorded as such);
- a CPU-bound loop: samples/src/cpuloop.c built for Windows (cpuloop-x64.exe) and for
  Linux (cpuloop-static-glibc-x86_64), both under guise: the PE loop should cost what
  the ELF loop costs, since neither makes a call inside it.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "bin"
PEERS = Path(__file__).resolve().parent / ".peers"
SPEAKEASY = PEERS / "speakeasy-venv" / "bin" / "speakeasy"
WINE = ("wine64", "/usr/lib/wine/wine64")
LOOP = "100000000"
TIMEOUT = 300


def _time(cmd, env, runs: int, ok) -> tuple[float | None, str]:
    """Median wall time of ``runs`` runs; (None, why) when a run fails ``ok(proc)``."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, env=env, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return None, "timeout"
        times.append(time.perf_counter() - t0)
        why = ok(p)
        if why:
            return statistics.median(times), why
    return statistics.median(times), ""


def _says_hello(p) -> str:
    if b"hello, world" in p.stdout:
        return ""
    for line in (p.stdout + p.stderr).decode(errors="replace").splitlines():
        if "Unsupported API" in line:           # Speakeasy's own report of where it stopped
            return "stops: " + line.strip()[:80]
    return f"fails (status {p.returncode})"


def rows(runs: int) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), LC_ALL="C")
    hello = str(SAMPLES / "hello-x64.exe")
    guise = [sys.executable, "-m", "guise", "run", "--"]
    cells = {"guise": _time(guise + [hello], {**env, "GUISE_WINDOWS_PREFIX": str(PEERS / "guise-prefix")},
                            runs, _says_hello)}
    wine = next((shutil.which(w) for w in WINE if shutil.which(w)), None)
    if wine:
        wenv = {**env, "WINEPREFIX": str(PEERS / "wineprefix"), "WINEDEBUG": "-all",
                "WINEDLLOVERRIDES": "winedbg.exe=d"}
        subprocess.run([wine, hello], env=wenv, capture_output=True, timeout=TIMEOUT)    # warm the prefix
        cells["wine64 (warm prefix)"] = _time([wine, hello], wenv, runs, _says_hello)
    if SPEAKEASY.exists():
        cells["Speakeasy"] = _time([str(SPEAKEASY), "-t", hello], env, runs, _says_hello)
    out = ["## Windows programs", "", "| hello-x64.exe start to exit | seconds | note |", "|---|---:|---|"]
    for peer, (t, why) in cells.items():
        out.append(f"| {peer} | {'—' if t is None else f'{t:.3f}'} | {why} |")
    loop_pe, why_pe = _time(guise + [str(SAMPLES / "cpuloop-x64.exe"), LOOP], env, runs, lambda p: "")
    loop_elf, why_elf = _time(guise + [str(SAMPLES / "cpuloop-static-glibc-x86_64"), LOOP], env, runs,
                              lambda p: "")
    ratio = loop_pe / loop_elf if loop_pe and loop_elf else None
    out += ["", f"CPU loop ({LOOP} xorshift steps) under guise: PE32+ {loop_pe:.3f} s, "
                f"ELF {loop_elf:.3f} s, ratio {ratio:.2f}x." if ratio else
            f"CPU loop: not measured ({why_pe or why_elf})", ""]
    g = cells["guise"][0] if not cells["guise"][1] else None
    others = [t for peer, (t, why) in cells.items() if peer != "guise"]
    done = [t for peer, (t, why) in cells.items() if peer != "guise" and not why]
    out += ["| target | result |", "|---|---|",
            _target("hello.exe start to exit ≤ 0.5 s", None if g is None else g <= 0.5),
            _target("hello.exe faster than wine64 (warm) and Speakeasy (one that cannot finish counts as slower)",
                    None if g is None or not others else all(g < t for t in done)),
            _target("CPU-bound PE loop ≤ 1.3× the same loop for Linux under guise",
                    None if ratio is None else ratio <= 1.3)]
    return out


def _target(label: str, ok) -> str:
    return f"| {label} | {'met' if ok else ('missed' if ok is not None else 'not measured')} |"


if __name__ == "__main__":
    print("\n".join(rows(int(sys.argv[1]) if len(sys.argv) > 1 else 3)))
