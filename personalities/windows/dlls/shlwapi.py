"""shlwapi.dll as data: the path helpers console programs use (shlwapi_path), each
in its ANSI and wide form."""
from __future__ import annotations

from ..spec import Dll, fn
from . import shlwapi_path as P

# name, implementation (p, *args, wide), argument kinds with "s" for the string kind, return kind
PATH_FUNCTIONS = [
    ("PathFindFileName", P.FIND_FILE_NAME, "s", "ptr"),
    ("PathFindExtension", P.FIND_EXTENSION, "s", "ptr"),
    ("PathGetArgs", P.GET_ARGS, "s", "ptr"),
    ("PathIsRelative", P.is_relative_export, "s", "bool"),
    ("PathIsRoot", P.IS_ROOT, "s", "bool"),
    ("PathIsUNC", P.IS_UNC, "s", "bool"),
    ("PathIsFileSpec", P.IS_FILE_SPEC, "s", "bool"),
    ("PathRemoveFileSpec", P.REMOVE_FILE_SPEC, "ptr", "bool"),
    ("PathStripPath", P.STRIP_PATH, "ptr", "void"),
    ("PathStripToRoot", P.STRIP_TO_ROOT, "ptr", "bool"),
    ("PathRemoveExtension", P.REMOVE_EXTENSION, "ptr", "void"),
    ("PathRenameExtension", P.rename_extension_export, "ptr s", "bool"),
    ("PathAddExtension", P.add_extension_export, "ptr s", "bool"),
    ("PathAddBackslash", P.add_backslash_export, "ptr", "ptr"),
    ("PathRemoveBackslash", P.remove_backslash_export, "ptr", "ptr"),
    ("PathAppend", P.append_export, "ptr s", "bool"),
    ("PathCombine", P.combine_export, "ptr s s", "ptr"),
    ("PathCanonicalize", P.canonicalize_export, "ptr s", "bool"),
    ("PathQuoteSpaces", P.QUOTE_SPACES, "ptr", "void"),
    ("PathUnquoteSpaces", P.UNQUOTE_SPACES, "ptr", "void"),
    ("PathFileExists", P.file_exists_export, "s", "bool"),
    ("PathIsDirectory", P.is_directory_export, "s", "bool"),
]


def _form(impl, wide: bool):
    return lambda p, *args: impl(p, *args, wide)


ROWS = [fn(name + suffix, _form(impl, suffix == "W"), " ".join(kind if a == "s" else a for a in args.split()), ret)
        for name, impl, args, ret in PATH_FUNCTIONS for suffix, kind in (("A", "str"), ("W", "wstr"))]

DLL = Dll.of("shlwapi.dll", ROWS)
