"""msvcrt floating point: <math.h> functions and strtod/atof (doubles come in through
xmm0-3 or the stack and go back in xmm0 / st(0); see process.py's stubs)."""
from __future__ import annotations

import math
import re

from .. import strings
from .crt_errno import set_errno

EDOM, ERANGE = 33, 34
_NUMBER = re.compile(rb"[ \t\n\v\f\r]*([+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan))",
                     re.IGNORECASE)


def _domain(fn):
    def call(p, *args):
        try:
            return float(fn(*args))
        except ValueError:
            set_errno(p, EDOM)
            return math.nan
        except OverflowError:
            set_errno(p, ERANGE)
            return math.inf
    call.__name__ = fn.__name__
    return call


sqrt = _domain(math.sqrt)
pow_ = _domain(math.pow)
floor = _domain(math.floor)
ceil = _domain(math.ceil)
fabs = _domain(math.fabs)
sin = _domain(math.sin)
cos = _domain(math.cos)
tan = _domain(math.tan)
atan = _domain(math.atan)
atan2 = _domain(math.atan2)
exp = _domain(math.exp)
log = _domain(math.log)
log10 = _domain(math.log10)
fmod = _domain(math.fmod)


def strtod(p, s, endptr):
    data = strings.raw(p.mem, s, limit=4096)
    m = _NUMBER.match(data)
    if m is None:
        if endptr:
            p.mem.put_ptr(endptr, s)
        return 0.0
    if endptr:
        p.mem.put_ptr(endptr, s + m.end(1))
    value = float(m.group(1))
    if math.isinf(value) and b"inf" not in m.group(1).lower():
        set_errno(p, ERANGE)
    return value


def atof(p, s):
    return strtod(p, s, 0)
