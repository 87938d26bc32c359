"""User-facing errors.

A :class:`UserError` is a problem with what the user asked for (an unknown name,
a bad value, missing data). The CLI prints its message on one line and exits
with code 2; anything else is a bug and may show a traceback.
"""


class UserError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


class DataMissingError(UserError):
    """A dataset the run needs is not on disk (and could not be fetched)."""


class DataCorruptError(UserError):
    """A dataset file is on disk but cannot be read as its format says."""


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` records it as a failed run: it unwinds, releasing
    locks and writing no partial record, and the CLI exits 143."""
