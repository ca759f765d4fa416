"""The error every layer's failure becomes at the edge of guise: one line and an exit status."""
from __future__ import annotations


class GuiseError(Exception):
    """A run could not start; ``status`` is the exit status the CLI uses for it."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status
