"""Command lines as Windows builds and splits them.

A Windows process gets one string.  ``build`` quotes an argv the way the C
runtime's spawn/CreateProcess callers are expected to (so that splitting it
again gives the same argv); ``split`` is the msvcrt ``__getmainargs`` /
``CommandLineToArgvW`` rule set: whitespace separates arguments outside
quotes; 2n backslashes before a quote are n backslashes and the quote toggles
quoting; 2n+1 backslashes before a quote are n backslashes and a literal
quote; other backslashes are literal; inside quotes, a doubled quote is a
literal quote (the post-2008 msvcrt behaviour; shell32's CommandLineToArgvW
keeps the older rule, where that quote also ends the quoting).  The program
name (the first word) follows the simpler rule: it runs to the next quote or
blank, with no escapes.
"""
from __future__ import annotations


def quote(arg: str) -> str:
    if arg and not any(c in arg for c in ' \t\n\v"'):
        return arg
    out, backslashes = ['"'], 0
    for c in arg:
        if c == "\\":
            backslashes += 1
            continue
        if c == '"':
            out.append("\\" * (2 * backslashes + 1) + '"')
        else:
            out.append("\\" * backslashes + c)
        backslashes = 0
    out.append("\\" * (2 * backslashes) + '"')
    return "".join(out)


def build(argv: list[str]) -> str:
    """The command line for ``argv``; argv[0] is quoted only if it has blanks."""
    first = argv[0]
    head = f'"{first}"' if (" " in first or "\t" in first or not first) else first
    return " ".join([head] + [quote(a) for a in argv[1:]])


def split(line: str, shell: bool = False) -> list[str]:
    """``line`` as argv; ``shell``: CommandLineToArgvW's rule for a doubled quote."""
    args: list[str] = []
    i, n = 0, len(line)
    # the program name
    if i < n and line[i] == '"':
        j = line.find('"', i + 1)
        j = n if j < 0 else j
        args.append(line[i + 1:j])
        i = j + 1
    else:
        j = i
        while j < n and line[j] not in " \t":
            j += 1
        args.append(line[i:j])
        i = j
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            return args
        cur, quoted = [], False
        while i < n:
            c = line[i]
            if c == "\\":
                j = i
                while j < n and line[j] == "\\":
                    j += 1
                count = j - i
                if j < n and line[j] == '"':
                    cur.append("\\" * (count // 2))
                    if count % 2:
                        cur.append('"')
                        i = j + 1
                    else:
                        i = j
                    continue
                cur.append("\\" * count)
                i = j
                continue
            if c == '"':
                if quoted and i + 1 < n and line[i + 1] == '"':
                    cur.append('"')
                    i += 2
                    quoted = not shell
                    continue
                quoted = not quoted
                i += 1
                continue
            if c in " \t" and not quoted:
                break
            cur.append(c)
            i += 1
        args.append("".join(cur))
