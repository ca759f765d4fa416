"""The sandbox layer: the guest's view of the file system, and (later) limits,
policy and audit.  Personalities resolve every guest path through a
:class:`FileSystemView`; they never touch host paths themselves.
"""
from .errors import SandboxError, JailViolation
from .view import FileSystemView
from .hostfs import HostView


def default_view() -> FileSystemView:
    """The view with no jail: the host file system as the invoking user sees it."""
    return HostView()


__all__ = ["SandboxError", "JailViolation", "FileSystemView", "HostView", "default_view"]
