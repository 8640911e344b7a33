"""The one exception type for problems a user can fix."""


class UserInputError(ValueError):
    """Bad configuration, missing or unreadable data, a corrupt or foreign file.

    Raised with a message that names the problem and says what to do.  Command-line
    entry points turn it into that message and exit code 2; anything else is our bug
    and keeps its traceback.
    """


class DataError(UserInputError):
    """A problem in the data itself (an image that does not decode), met while a run reads
    it: every run reading the same data meets it again, so a study stops at the first
    (:mod:`harness.data_stop`) instead of retrying trial after trial."""


class DiskFull(UserInputError):
    """The disk filled up while a run saved its state; what it saved before is intact.

    Not bad input, but the user's to fix: commands exit 1 (the run failed) with this message."""

    exit_code = 1
