"""The unicorn CPU back end on its own: page rights kept for its TLB, faults named
with their address, and preemption from another thread that never splits an
instruction."""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from hypothesis import given, settings, strategies as st

from hw.cpu import uclib
from hw.cpu.base import PROT_EXEC, PROT_READ, PROT_WRITE
from hw.cpu.protmap import ProtMap
from hw.cpu.unicorn_cpu import UnicornCpu

CODE, DATA = 0x10000, 0x20000
RW, RX = PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 12), st.sampled_from([None, 1, 3, 5, 7]),
                          st.booleans()), max_size=25))
def test_protmap_matches_a_page_by_page_model(ops):
    """set/update on ranges give the same answer, page by page, as a plain dict."""
    pm, model = ProtMap(), {}
    for start, length, perms, is_update in ops:
        pages = range(start, start + length)
        if is_update and perms is not None:
            pm.update(start * 4096, (start + length) * 4096, perms)
            for p in pages:
                if p in model:
                    model[p] = perms
        else:
            pm.set(start * 4096, (start + length) * 4096, perms)
            for p in pages:
                if perms is None:
                    model.pop(p, None)
                else:
                    model[p] = perms
    for page in range(0, 60):
        assert pm.lookup(page * 4096 + 123) == model.get(page), page
    assert pm.starts == sorted(pm.starts)
    assert all(s < e for s, e in zip(pm.starts, pm.ends))
    assert all(e <= s for e, s in zip(pm.ends, pm.starts[1:]))


def _cpu(code: bytes) -> UnicornCpu:
    cpu = UnicornCpu("x86_64")
    cpu.mem_map(CODE, 0x1000, RX)
    cpu.mem_map(DATA, 0x1000, RW)
    cpu.mem_write(CODE, code)
    return cpu


STORE_THEN_STORE = bytes.fromhex(
    "48c7042500000200" "01000000"     # mov qword [0x20000], 1
    "48c7042508000200" "02000000"     # mov qword [0x20008], 2
    "cc")                             # int3: stops the CPU with an interrupt


def test_store_to_a_page_made_read_only_faults_with_its_address():
    cpu = _cpu(STORE_THEN_STORE)
    stop = cpu.run(CODE)
    assert stop.kind == "interrupt"                  # both stores went through
    assert cpu.mem_read(DATA, 16) == (1).to_bytes(8, "little") + (2).to_bytes(8, "little")
    cpu.mem_protect(DATA, 0x1000, PROT_READ)         # its TLB entry must not outlive this
    stop = cpu.run(CODE)
    assert (stop.kind, stop.access, stop.address, stop.pc) == ("fault", "write", DATA, CODE)
    stop = cpu.run(CODE)                             # the same fault again, not a pass
    assert (stop.kind, stop.address) == ("fault", DATA)
    cpu.mem_protect(DATA, 0x1000, RW)
    assert cpu.run(CODE).kind == "interrupt"


def test_unmapped_and_non_executable_pages_fault_by_kind():
    load = bytes.fromhex("488b042500500300")      # mov rax, [0x35000]
    cpu = _cpu(load)
    stop = cpu.run(CODE)
    assert (stop.kind, stop.access, stop.address) == ("fault", "read", 0x35000)
    cpu.mem_write(DATA, b"\x90\xcc")
    stop = cpu.run(DATA)
    assert (stop.kind, stop.access, stop.pc) == ("fault", "exec", DATA)


def test_code_written_at_run_time_is_retranslated():
    """A page both written and executed (a JIT) keeps unicorn's careful path."""
    cpu = UnicornCpu("x86_64")
    cpu.mem_map(CODE, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC)
    # mov eax, 1; then bytes stores write "mov eax, 2; int3" at CODE+0x100 and jump there
    body = bytes.fromhex("b802000000cc")
    patch = b"".join(bytes.fromhex("c60425") + (CODE + 0x100 + i).to_bytes(4, "little") + bytes([b])
                     for i, b in enumerate(body))
    cpu.mem_write(CODE, bytes.fromhex("b801000000") + patch + bytes.fromhex("e9") +
                  (0x100 - (5 + len(patch) + 5)).to_bytes(4, "little", signed=True))
    cpu.mem_write(CODE + 0x100, bytes.fromhex("b807000000cc"))      # old code: eax = 7
    cpu.run(CODE + 0x100)                                            # translate the old code
    assert cpu.reg("rax") == 7
    cpu.run(CODE)
    assert cpu.reg("rax") == 2


# lock inc qword [0x20000] ; xchg [0x20010], rdx ; dec rcx ; jnz ; int3
COUNT_LOOP = bytes.fromhex("f048ff04" "2500000200" "48871425" "10000200" "48ffc9" "75ea" "cc")


def test_preemption_never_replays_an_instruction():
    """Stopped from another thread thousands of times, a loop of locked adds and
    exchanges still adds exactly once per iteration: every stop is between blocks."""
    loops = 2_000_000
    cpu = _cpu(COUNT_LOOP)
    assert cpu.make_preemptible()
    cpu.set_reg("rcx", loops)
    cpu.set_reg("rdx", 5)
    done = threading.Event()
    stops = 0

    def ticker():
        while not done.wait(0.0002):
            cpu.preempt()

    t = threading.Thread(target=ticker)
    t.start()
    pc = CODE
    try:
        while True:
            stop = cpu.run(pc)
            if stop is not None:
                break
            stops += 1
            pc = cpu.reg("rip")
    finally:
        done.set()
        t.join()
    assert stop.kind == "interrupt"
    assert stops > 10, "the ticker never preempted the loop"
    assert int.from_bytes(cpu.mem_read(DATA, 8), "little") == loops
    # an even number of exchanges puts both values back; one replay would not
    assert (int.from_bytes(cpu.mem_read(DATA + 0x10, 8), "little"), cpu.reg("rdx")) == (0, 5)


def test_preempt_before_run_stops_at_the_first_block_only_once():
    cpu = _cpu(STORE_THEN_STORE)
    assert cpu.make_preemptible()
    cpu.preempt()
    assert cpu.run(CODE).kind == "interrupt"     # a request made before run() is dropped


@pytest.mark.parametrize("arch", ["x86_64", "i386"])
def test_engine_starts_with_a_flat_map_for_its_own_tables(arch):
    cpu = UnicornCpu(arch)
    assert cpu.mem_regions() == ([] if arch == "x86_64" else [(0xFFFFF000, 0xFFFFFFFF, 3)])


def test_code_rewritten_while_not_executable_runs_afresh():
    """mprotect RX -> RW, new code written, RW -> RX (what a loader or JIT does): the
    blocks translated before must not run again."""
    cpu = UnicornCpu("x86_64")
    cpu.mem_map(CODE, 0x1000, RX)
    cpu.mem_write(CODE, bytes.fromhex("b807000000cc"))          # mov eax, 7; int3
    cpu.run(CODE)
    assert cpu.reg("rax") == 7
    cpu.mem_protect(CODE, 0x1000, RW)
    cpu.mem_map(DATA, 0x1000, RX)
    # code in DATA stores "mov eax, 9" over the first instruction at CODE, then int3
    cpu.mem_write(DATA, bytes.fromhex("c60425") + CODE.to_bytes(4, "little") + b"\xb8" +
                  bytes.fromhex("c60425") + (CODE + 1).to_bytes(4, "little") + b"\x09" + b"\xcc")
    cpu.run(DATA)
    cpu.mem_protect(CODE, 0x1000, RX)
    cpu.run(CODE)
    assert cpu.reg("rax") == 9


def test_wide_and_table_registers_round_trip():
    """uclib reads and writes every register shape the personalities use: 64-bit,
    128-bit vector, and the (selector, base, limit, flags) descriptor-table form."""
    cpu = UnicornCpu("x86_64")
    wide = (1 << 127) | 0x0123456789ABCDEF_FEDCBA9876543210 & ((1 << 126) - 1)
    cpu.set_reg("xmm7", wide)
    cpu.set_reg("r13", -2)                    # written as the 64-bit pattern, as the binding did
    assert (cpu.reg("xmm7"), cpu.reg("r13")) == (wide, (1 << 64) - 2)
    cpu32 = UnicornCpu("i386")
    assert uclib.reg_read(cpu32._uch, uclib.x86.UC_X86_REG_GDTR)[1:3] == (UnicornCpu.GDT_ADDR, 0xFFF)
    saved = cpu.save_context()
    cpu.set_reg("xmm7", 5)
    cpu.restore_context(saved)
    assert cpu.reg("xmm7") == wide


def test_user_mode_start_up_does_not_import_the_unicorn_binding():
    """The binding's import costs a fifth of a static program's start-up (see uclib)."""
    code = ("import sys, guise.cli, guise.api, personalities.linux.process, hw.cpu.unicorn_cpu; "
            "print(sorted(m for m in sys.modules if m == 'unicorn' or m.startswith('unicorn.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
