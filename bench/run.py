#!/usr/bin/env python3
"""guise against its peers on the same machine, in the same run.

Workloads (the foundation issue's list): a CPU-bound loop, 200k cheap
syscalls, 20 MB of file I/O in 4 KiB blocks, start-up of a static hello, and
`python3 -c pass`, a fork+exec loop and a threaded mutex.  Peers: native,
qemu-user, Qiling (from its own venv under bench/.peers, never a dependency of
guise); guise also runs each inside an `--overlay` jail over the host root.  Each cell is the median of N
runs' wall time; the table reports seconds and guise's ratio to each peer.
It also times `guise zone snapshot` of a zone holding 10k files of its own, then
the Windows rows (bench/windows.py) and the virtual PC's (bench/vm_boot.py, vm_unicorn.py).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "bin"
PEERS = Path(__file__).resolve().parent / ".peers"
QILING_PY = PEERS / "qiling-venv" / "bin" / "python"
QILING_RUNNER = Path(__file__).resolve().parent / "qiling_runner.py"
TIMEOUT = 180

SYSCALLS = 200_000
EMULATED_CHILDREN = "fork+exec ×200, qemu emulating the children too"


def workloads(tmp: str) -> dict:
    s = lambda name: str(SAMPLES / f"{name}-static-glibc-x86_64")  # noqa: E731
    hello = SAMPLES / "hello-static-x86_64"
    return {
        "cpu loop (300M xorshift)": [s("cpuloop"), "300000000"],
        "200k getppid syscalls": [s("getppid-loop"), str(SYSCALLS)],
        "0 syscalls (baseline)": [s("getppid-loop"), "0"],
        "file I/O 20 MB / 4 KiB": [s("fileio"), os.path.join(tmp, "io.dat")],
        "static hello start-up": [str(SAMPLES / "hello-static-x86_64")],
        "python3 -c pass": ["/usr/bin/python3", "-c", "pass"],
        "fork+exec ×200 (dash loop)": ["/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do "
                                       f"{hello} >/dev/null; i=$((i+1)); done"],
        # qemu-user does not follow execve (without binfmt_misc, which cannot claim the
        # host's own architecture), so under it the loop above runs its children
        # natively; this row has qemu emulate every child too, as guise does
        EMULATED_CHILDREN: ["/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do "
                            f"qemu-x86_64 {hello} >/dev/null; i=$((i+1)); done"],
        "4 threads on one mutex": [s("threads")],
    }


ZONE_FILES = 10_000


def zone_snapshot_seconds(tmp: str, runs: int, env) -> tuple[float | None, str]:
    """`guise zone snapshot` of a zone whose own layer holds 10k files (written by a
    guest `cp -r` inside the zone): the median wall time of the command, start-up included."""
    src = Path(tmp, "zone-src")
    (src / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", src / "bin" / "busybox")
    files = src / "files"
    for d in range(100):
        (files / str(d)).mkdir(parents=True)
        for f in range(ZONE_FILES // 100):
            (files / str(d) / str(f)).write_bytes(b"x" * 100)
    state = Path(tmp, "zones")
    zone = [sys.executable, "-m", "guise", "zone", "--state", str(state)]
    try:
        subprocess.run(zone + ["create", "bench", "--from", str(src)], check=True, env=env,
                       capture_output=True, timeout=TIMEOUT)
        subprocess.run(zone + ["run", "bench", "--", "/bin/busybox", "cp", "-r", "/files", "/copy"],
                       check=True, env=env, capture_output=True, timeout=TIMEOUT)
        times = []
        for i in range(runs):
            t0 = time.perf_counter()
            subprocess.run(zone + ["snapshot", "bench", f"s{i}"], check=True, env=env,
                           capture_output=True, timeout=TIMEOUT)
            times.append(time.perf_counter() - t0)
        return statistics.median(times), ""
    except (subprocess.SubprocessError, OSError) as e:
        return None, f"fails ({type(e).__name__})"


def peer_commands() -> dict:
    guise = [sys.executable, "-m", "guise", "run", "--"]
    peers = {"native": [], "guise": guise,
             "guise jail": guise[:-1] + ["--root", "/:ro", "--overlay", "--"]}
    if shutil.which("qemu-x86_64"):
        peers["qemu-user"] = ["qemu-x86_64"]
    if QILING_PY.exists():
        peers["Qiling"] = [str(QILING_PY), str(QILING_RUNNER)]
    return peers


def time_once(cmd, env) -> tuple[float | None, str]:
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        last = (p.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        return None, f"fails ({last[:80]})"
    return dt, ""


def measure(cmd, runs, env) -> tuple[float | None, str]:
    times = []
    for _ in range(runs):
        t, why = time_once(cmd, env)
        if t is None:
            return None, why
        times.append(t)
    return statistics.median(times), ""


def versions() -> dict:
    out = {"python": platform.python_version()}
    try:
        import unicorn
        out["unicorn"] = unicorn.__version__
    except Exception:
        pass
    if shutil.which("qemu-x86_64"):
        out["qemu-user"] = subprocess.run(["qemu-x86_64", "--version"], capture_output=True,
                                          text=True).stdout.split("\n")[0].replace("qemu-x86_64 version ", "")
    if QILING_PY.exists():
        out["qiling"] = subprocess.run([str(QILING_PY), "-c", "import qiling; print(qiling.__version__)"],
                                       capture_output=True, text=True).stdout.strip() or "?"
    return out


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def fmt(t):
    return "—" if t is None else f"{t:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results.md"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one run each, no Qiling")
    ap.add_argument("--only", help="run only workloads whose name contains this")
    ap.add_argument("--vm-timeout", type=float, default=900,
                    help="seconds each KVM boot of the virtual PC rows may take (0: no virtual PC rows)")
    args = ap.parse_args()
    runs = 1 if args.quick else args.runs
    env = dict(os.environ, PYTHONPATH=str(ROOT), LC_ALL="C")
    peers = peer_commands()
    if args.quick:
        peers.pop("Qiling", None)
    tmp = tempfile.mkdtemp(prefix="guise-bench-")
    results: dict = {}
    notes: dict = {}
    for name, argv in workloads(tmp).items():
        if args.only and args.only not in name:
            continue
        for peer, prefix in peers.items():
            if name == EMULATED_CHILDREN and peer != "qemu-user":
                continue
            t, why = measure(prefix + argv, runs, env)
            results[(name, peer)] = t
            if why:
                notes[(name, peer)] = why
            print(f"{name:<28} {peer:<10} {fmt(t):>8} {why}", flush=True)
    snap, snap_note = (None, "not run") if args.only else zone_snapshot_seconds(tmp, runs, env)
    shutil.rmtree(tmp, ignore_errors=True)

    names = [n for n in workloads(tmp) if not args.only or args.only in n]
    cols = list(peers)
    lines = [f"# guise benchmarks", "",
             f"Run {datetime.date.today()} on {os.cpu_count()} × {cpu_model()}; median of {runs} run(s), wall seconds.",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + ".", "",
             "| workload | " + " | ".join(cols) + " | guise/qemu-user | guise/Qiling |",
             "|---|" + "---:|" * (len(cols) + 2)]
    for n in names:
        cells = []
        for c in cols:
            t = results.get((n, c))
            cells.append(fmt(t) if t is not None else notes.get((n, c), "—"))
        g, q, ql = results.get((n, "guise")), results.get((n, "qemu-user")), results.get((n, "Qiling"))
        if n == EMULATED_CHILDREN:         # guise's own row is the plain loop (it always emulates)
            g = results.get(("fork+exec ×200 (dash loop)", "guise"))
        r1 = f"{g / q:.2f}x" if g and q else "—"
        r2 = f"{g / ql:.2f}x" if g and ql else "—"
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {r1} | {r2} |")

    def per_call(peer):
        a, b = results.get(("200k getppid syscalls", peer)), results.get(("0 syscalls (baseline)", peer))
        return None if a is None or b is None else max(a - b, 0) / SYSCALLS * 1e6
    lines += ["", "Cost of one trapped syscall (µs, (t(200k) − t(0)) / 200k): " +
              ", ".join(f"{p} {per_call(p):.2f}" for p in cols if per_call(p) is not None) + ".", ""]

    def target(label, ok):
        return f"| {label} | {'met' if ok else ('missed' if ok is not None else 'not measured')} |"
    g = lambda n: results.get((n, "guise"))      # noqa: E731
    q = lambda n: results.get((n, "qemu-user"))  # noqa: E731
    lines += ["| target | result |", "|---|---|",
              target("CPU-bound ≤ 1.3× qemu-user", None if not (g("cpu loop (300M xorshift)") and q("cpu loop (300M xorshift)"))
                     else g("cpu loop (300M xorshift)") <= 1.3 * q("cpu loop (300M xorshift)")),
              target("200k syscalls ≤ 1.5 s", None if g("200k getppid syscalls") is None
                     else g("200k getppid syscalls") <= 1.5),
              target("static hello start-up ≤ 0.3 s", None if g("static hello start-up") is None
                     else g("static hello start-up") <= 0.3),
              target("I/O ≤ 2× qemu-user", None if not (g("file I/O 20 MB / 4 KiB") and q("file I/O 20 MB / 4 KiB"))
                     else g("file I/O 20 MB / 4 KiB") <= 2 * q("file I/O 20 MB / 4 KiB")),
              target("fork+exec ≤ 3× qemu-user (qemu emulating the children too)",
                     None if not (g("fork+exec ×200 (dash loop)") and q(EMULATED_CHILDREN))
                     else g("fork+exec ×200 (dash loop)") <= 3 * q(EMULATED_CHILDREN)),
              target("threaded ≤ 2× qemu-user", None if not (g("4 threads on one mutex") and q("4 threads on one mutex"))
                     else g("4 threads on one mutex") <= 2 * q("4 threads on one mutex"))]
    jail_ratios = [results[(n, "guise jail")] / results[(n, "guise")] for n in names
                   if results.get((n, "guise jail")) and results.get((n, "guise"))]
    if jail_ratios:
        lines.insert(lines.index("| target | result |") - 1,
                     f"An `--overlay` jail over the host root costs {min(jail_ratios):.2f}–"
                     f"{max(jail_ratios):.2f}× the unjailed run.\n")
    lines.append(target("an --overlay jail ≤ 1.1× unjailed, every workload",
                        None if not jail_ratios else max(jail_ratios) <= 1.1))
    lines.insert(lines.index("| target | result |") - 1,
                 f"`guise zone snapshot` of a zone holding {ZONE_FILES} files of its own: "
                 f"{fmt(snap) if snap is not None else snap_note} s (command start-up included).\n")
    lines.append(target(f"zone snapshot with {ZONE_FILES // 1000}k files < 1 s", None if snap is None else snap < 1))
    if "Qiling" in cols:
        faster = [results.get((n, "guise")) is not None and
                  (results.get((n, "Qiling")) is None or results[(n, "guise")] < results[(n, "Qiling")])
                  for n in names if n not in ("0 syscalls (baseline)", EMULATED_CHILDREN)]
        lines.append(target("every workload faster than Qiling (a Qiling failure counts as slower)", all(faster)))
    if not args.only:
        from windows import rows as windows_rows
        lines += ["", *windows_rows(runs)]
    if args.vm_timeout and not args.only:
        from vm_boot import rows as vm_rows
        from vm_unicorn import rows as unicorn_rows
        lines += ["", *vm_rows(args.vm_timeout), "", *unicorn_rows(min(args.vm_timeout, 300))]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.only:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
