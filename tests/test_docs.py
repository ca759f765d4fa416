"""The generated compatibility pages match the syscall tables (run `make docs` to refresh)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _gen():
    spec = importlib.util.spec_from_file_location("gen_compat", ROOT / "tools" / "gen_compat.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_compat_page_is_current():
    assert (ROOT / "docs" / "compat-linux.md").read_text() == _gen().compat_page(), "run `make docs`"


def test_readme_table_is_current():
    text = (ROOT / "README.md").read_text()
    assert _gen().render_readme(text) == text, "run `make docs`"
