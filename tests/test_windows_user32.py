"""user32 for console programs where wine64 cannot be the yardstick: MessageBox
has no screen under guise (Wine's would try to open a window), so it is held to
what guise promises: one line on stderr and the default button's answer."""
from __future__ import annotations

import pytest

from conftest import SAMPLES
from test_windows import guise, prefix  # noqa: F401  (fixture)


@pytest.mark.parametrize("arch", ["x64", "x86"])
def test_message_box_is_a_line_on_stderr(arch, prefix, tmp_path):
    g = guise([SAMPLES / f"msgbox-{arch}.exe"], tmp_path, prefix)
    assert g.status == 0, g.stderr
    assert g.stderr == "Setup: all done\nQuestion: Overwrite été.txt?\nError: disk not ready\n".encode()
    assert g.stdout == (b"MB_OK: 1\r\nMB_YESNO|MB_DEFBUTTON2: 7\r\nMB_RETRYCANCEL, no caption: 4\r\n"
                        b"style 0xF: 0, error 1158\r\n")
