"""Run one program under Qiling (executed by the Qiling venv's python, not guise's).

usage: qiling_runner.py PROG ARGS...   — the rootfs is the host's / so dynamic
programs find their libraries, as guise and qemu-user do.
"""
import sys

from qiling import Qiling
from qiling.const import QL_VERBOSE

ql = Qiling(sys.argv[1:], "/", verbose=QL_VERBOSE.DISABLED, console=True)
ql.run()
