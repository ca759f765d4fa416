"""Sandbox error types."""


class SandboxError(Exception):
    """A sandbox could not be set up; one line for the user."""


class JailViolation(SandboxError):
    """A guest tried something its jail forbids."""
