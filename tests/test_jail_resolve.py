"""Property tests of the jail's path resolution (sandbox/jailfs.py).

Random trees of directories, files, symlinks (relative, absolute, climbing
with ``..``, pointing at ``/``) and random paths: the jail's component walk
never lands outside the root, and where the kernel's openat2 RESOLVE_IN_ROOT
applies (one plain tree) both agree on the outcome.
"""
from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sandbox import resolve
from sandbox.jail import JailConfig
from sandbox.jailfs import JailView

NAMES = ["a", "b", "c", "..", "."]
LINK_TARGETS = ["/", "..", "../..", "../../..", "/a", "a/b", "../a/..", "/../../etc", "b/../../..",
                "/proc/self/root", "loop", "c"]


def _tree(draw_entries, root: str) -> None:
    """Make the drawn entries, never through a symlink (that could write outside)."""
    for path, kind, target in draw_entries:
        parts = path.split("/")
        cur = root
        for part in parts[:-1]:
            cur = os.path.join(cur, part)
            if os.path.islink(cur) or (os.path.lexists(cur) and not os.path.isdir(cur)):
                break
            if not os.path.lexists(cur):
                os.mkdir(cur)
        else:
            _make(os.path.join(cur, parts[-1]), kind, target, path)


def _make(full: str, kind: str, target: str, path: str) -> None:
    if os.path.lexists(full):
        return
    if kind == "dir":
        os.mkdir(full)
    elif kind == "file":
        with open(full, "w") as f:
            f.write(path)
    else:
        os.symlink(target, full)


entry = st.tuples(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map("/".join),
                  st.sampled_from(["dir", "file", "link"]), st.sampled_from(LINK_TARGETS))
paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=7).map("/".join)


def _view(root: str, walk_only: bool) -> JailView:
    v = JailView(JailConfig(root=root, devices=False, proc=False))
    if walk_only:
        v._fast = False
    return v


def _outcome(fn):
    try:
        fd = fn()
    except OSError as e:
        return ("error", e.errno)
    try:
        return ("ok", os.readlink(f"/proc/self/fd/{fd}"))
    finally:
        os.close(fd)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(entry, max_size=12), paths, st.booleans())
def test_walk_stays_inside_and_agrees_with_openat2(entries, path, absolute):
    with tempfile.TemporaryDirectory() as top:
        root = os.path.join(top, "root")
        os.makedirs(os.path.join(top, "a", "b"))            # decoys outside the root
        os.makedirs(root)
        _tree(entries, root)
        view = _view(root, walk_only=True)
        p = ("/" if absolute else "") + path
        got = _outcome(lambda: view.open(p.encode(), os.O_PATH))
        if got[0] == "ok":
            real = os.path.realpath(root)
            assert got[1] == real or got[1].startswith(real + "/"), (p, got)
        if resolve.AVAILABLE:
            rootfd = os.open(root, os.O_PATH | os.O_DIRECTORY)
            try:
                want = _outcome(lambda: resolve.openat2(rootfd, p.encode(), os.O_PATH))
            finally:
                os.close(rootfd)
            assert got == want, (p, entries)


def test_symlink_loop_is_eloop(tmp_path):
    (tmp_path / "x").symlink_to("y")
    (tmp_path / "y").symlink_to("x")
    for walk_only in (False, True):
        with pytest.raises(OSError) as e:
            _view(str(tmp_path), walk_only).open(b"/x", os.O_RDONLY)
        assert e.value.errno == 40


def test_swapped_symlink_never_escapes(tmp_path):
    """Between the walk's check and the final call another thread may swap a directory
    for a symlink: the final NOFOLLOW call then fails; it never follows the new link."""
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_text("inside")
    (tmp_path / "f").write_text("outside")
    view = _view(str(root), walk_only=True)
    owned: list[int] = []
    loc = view._walk(b"/d/f", None, True, owned)
    os.rename(root / "d", root / "d.old")
    os.symlink(str(tmp_path), root / "d")
    try:
        fd = os.open(loc.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=loc.pfd)
        assert os.read(fd, 100) == b"inside"               # the walked directory, not the new link
        os.close(fd)
        with open(os.path.join(root, "d", "f")) as f:
            assert f.read() == "outside"                    # (the host would have followed it)
        with pytest.raises(FileNotFoundError):              # a new walk reads the link's text
            view.stat(b"/d/f")                              # as a guest path: nothing there
    finally:
        for fd in owned:
            os.close(fd)


def test_long_paths(tmp_path):
    view = _view(str(tmp_path), walk_only=True)
    with pytest.raises(OSError) as e:
        view.open(b"/" + b"x" * 256, os.O_RDONLY)
    assert e.value.errno == 36
    deep = b"/".join([b".."] * 2000) + b"/"
    fd = view.open(deep, os.O_PATH)
    try:
        assert os.readlink(f"/proc/self/fd/{fd}") == os.path.realpath(tmp_path)
    finally:
        os.close(fd)
