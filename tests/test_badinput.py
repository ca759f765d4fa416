"""Hostile guests: bad pointers give EFAULT, wild jumps give SIGSEGV — never a traceback."""
import pytest

from conftest import SAMPLES, assert_same, run_guise

# (syscall number on x86-64, arguments) — every pointer is bad
BAD_POINTER_CALLS = [
    (0, "fd, 1, 10"),           # read into address 1
    (1, "1, 1, 10"),            # write from address 1
    (2, "1, 0, 0"),             # open of path at address 1
    (4, "b'/etc', 8"),          # stat into address 8
    (79, "8, 100"),             # getcwd into address 8
    (63, "16"),                 # uname into address 16
    (89, "b'/proc/self/exe', 8, 100"),   # readlink into address 8
    (228, "1, 8"),              # clock_gettime into address 8
    (7, "8, 1, 0"),             # poll with bad pollfd array
    (20, "1, 8, 2"),            # writev with bad iovec
]


@pytest.mark.parametrize("nr,args", BAD_POINTER_CALLS, ids=[str(n) for n, _ in BAD_POINTER_CALLS])
def test_bad_pointer_is_efault(nr, args):
    code = ("import ctypes, os; fd = os.open('/etc/passwd', 0); l = ctypes.CDLL(None, use_errno=True); "
            f"l.syscall.restype = ctypes.c_long; r = l.syscall({nr}, {args}); print(r, ctypes.get_errno())")
    g = assert_same(["/usr/bin/python3", "-c", code])
    assert g.stdout.split()[0] == b"-1"


def test_wild_read_is_sigsegv():
    g = assert_same(["/usr/bin/python3", "-c", "import ctypes; ctypes.string_at(1)"], check_stderr=False)
    assert g.status == -11


def test_jump_to_null_is_sigsegv():
    """A call through a NULL pointer faults at address 0 (the engine once restarted
    there forever: 0 was its 'run until' address)."""
    code = "import ctypes; ctypes.cast(ctypes.c_void_p(0), ctypes.CFUNCTYPE(None))()"
    g = assert_same(["/usr/bin/python3", "-c", code], check_stderr=False, timeout=60)
    assert g.status == -11


@pytest.mark.parametrize("prog,sig", [("segv", -11), ("ill", -4), ("fpe", -8), ("abort", -6)])
@pytest.mark.parametrize("variant", ["static-glibc-x86_64", "static-musl-i386"])
def test_fault_reason_with_verbose(prog, sig, variant):
    g = run_guise([SAMPLES / f"{prog}-{variant}"], options=["-v"])
    assert g.status == sig
    assert b"Traceback" not in g.stderr
    if prog != "abort":   # abort is the guest's own kill, not a CPU fault
        assert g.stderr.startswith(b"guise: SIG") and g.stderr.count(b"\n") == 1
