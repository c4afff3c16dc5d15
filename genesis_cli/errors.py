"""The errors GENESIS reports to users, and the exit code each one means.

Every failure a user can cause (a bad flag, a config typo, an unreadable file) is raised as a
subclass of :class:`GenesisError`. The CLI renders it as one red line plus a hint and exits with
``exit_code``; the traceback is shown only in debug mode. Anything else that escapes is a bug and
exits 1 with a pointer to ``--debug``.

Exit codes (documented in the README):
    0   success
    1   runtime failure (the work itself failed)
    2   usage or configuration error (fix the command line or the file)
    130 interrupted by Ctrl-C
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class GenesisError(Exception):
    """A failure with a message for the user; exits 1 unless a subclass says otherwise."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def lines(self) -> list[str]:
        """The error as one or more self-contained one-line messages."""
        return [self.message]


class UsageError(GenesisError):
    """The user asked for something that cannot work as given (bad flag value, missing file)."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A configuration that failed validation; carries one line per problem found.

    All problems are collected before raising, so a user fixes a file in one pass instead of
    discovering its mistakes one run at a time.
    """

    def __init__(self, problems: Sequence[str], *, hint: str | None = None) -> None:
        self.problems = list(problems) or ["invalid configuration"]
        super().__init__("; ".join(self.problems), hint=hint)

    @property
    def lines(self) -> list[str]:
        return list(self.problems)


class DataError(UsageError):
    """An event file that cannot be used as given: unreadable, mis-shaped or holding bad values."""
