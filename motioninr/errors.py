"""Errors a user can act on.

Every error the library raises on bad input is a :class:`MotionINRError` whose
message is one line naming the file or setting, the bad value and what was
expected. Command-line entry points print that line and exit non-zero.
"""


class MotionINRError(Exception):
    """Base class for user-facing errors (one-line message, no traceback)."""


class DataError(MotionINRError):
    """A dataset file or folder is missing, unreadable or malformed."""


class SettingsError(MotionINRError):
    """A setting has a bad value."""


def exit_on_error(debug: bool = False):
    """Context manager for command-line entry points.

    A :class:`MotionINRError` becomes ``error: <message>`` on stderr and exit
    code 1 (the traceback only with ``debug``).
    """
    import contextlib
    import sys

    @contextlib.contextmanager
    def _guard():
        try:
            yield
        except MotionINRError as exc:
            if debug:
                raise
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(1) from None

    return _guard()
