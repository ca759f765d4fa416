"""Loader error type: every malformed input ends as one of these, with one line."""


class LoaderError(Exception):
    """The file is not something guise can load; the message is one line for the user."""
