"""``guise vm run --stats``: the back end's traps by kind with their count and
host cost, in one table whose columns are the same for unicorn hook calls and
KVM exits (KVM adds the time inside KVM_RUN), and nothing measured without
--stats."""
from __future__ import annotations

import re

import pytest

from conftest import SAMPLES
from test_vm_linux import vm

KERNEL = SAMPLES / "mbkernel.elf"
HEADER = re.compile(r"guise vm: (unicorn hook calls|KVM exits) +count +µs each +ms total( +in KVM_RUN \(µs each\))?$")
ROW = re.compile(r"guise vm:   (\S.*?) +(\d+) +(\d+\.\d) +(\d+\.\d)(?: +(\d+\.\d))?$")


def trap_table(stderr: bytes) -> dict:
    """The --stats trap table -> {kind: (count, µs each, ms total[, extra µs each])},
    {run call: (calls, ms)}, and "interrupts" (the machine's) and "interrupts
    injected" (KVM's) as counts."""
    lines = stderr.decode().splitlines()
    heads = [i for i, line in enumerate(lines) if HEADER.match(line)]
    assert len(heads) == 1, stderr
    table = {}
    for line in lines[heads[0] + 1:]:
        m = ROW.match(line)
        if m:
            table[m.group(1)] = (int(m.group(2)), *(float(g) for g in m.groups()[2:] if g is not None))
        elif (m := re.fullmatch(r"guise vm: interrupts injected (\d+)", line)):
            table["interrupts injected"] = int(m.group(1))
        elif (m := re.fullmatch(r"guise vm:   running the guest: (\d+) (\S+) calls, (\d+\.\d) ms", line)):
            table[m.group(2)] = (int(m.group(1)), float(m.group(3)))
    table["interrupts"] = int(re.search(r"interrupts (\d+);", lines[1]).group(1))
    return table


def test_unicorn_hook_calls_with_their_cost():
    p = vm("run", "--multiboot", KERNEL, "--append", "0", "--backend", "unicorn", "--stats")
    assert p.returncode == 0, p.stderr
    t = trap_table(p.stderr)
    count, each, total = t["port I/O"]
    assert count > 200                               # every UART, PIC, PIT and CMOS access, one by one
    assert 0 < each < 1000 and total == pytest.approx(count * each / 1000, abs=0.11)
    assert t["interrupts"] == 10
    runs, ms = t["uc_emu_start"]
    assert runs == int(re.search(r"slices (\d+)", p.stderr.decode()).group(1))
    assert total <= ms + 0.1                         # the hooks run inside uc_emu_start


def test_without_stats_nothing_is_measured():
    p = vm("run", "--multiboot", KERNEL, "--append", "0", "--backend", "unicorn")
    assert p.returncode == 0 and p.stderr == b"guise vm: powered off (code 0)\n"
    from hw.machine import PcMachine
    m = PcMachine(16 << 20, lambda data: None)
    assert m.cpu.costs is None and m.cpu.stats() == [
        "unicorn hook calls: not measured (the back end was made without measure)"]


def test_timed_handlers_count_time_and_pass_values_and_errors_through():
    from hw.cpu.trapcost import TrapCosts
    costs = TrapCosts("run")
    add = costs.timed("add", lambda a, b: a + b)
    assert add(2, 3) == 5 and add(1, 1) == 2

    def fails():
        raise ValueError("guest did something")
    with pytest.raises(ValueError):
        costs.timed("fails", fails)()
    costs.add("add", 1.0, 0)                         # work an already-counted trap left for later
    assert costs.counts == {"add": 2, "fails": 1}
    assert costs.seconds["add"] >= 1.0 and costs.seconds["fails"] > 0
    rows = costs.table("traps")
    assert rows[0].split() == ["traps", "count", "µs", "each", "ms", "total"]
    assert rows[1].split()[:2] == ["add", "2"] and float(rows[1].split()[2]) >= 500000.0
