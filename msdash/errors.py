"""Exceptions whose messages are meant for the user of the dashboard."""


class MsdashError(Exception):
    """Base class of the errors msdash raises on purpose."""


class InputError(MsdashError, ValueError):
    """Input the user can fix: the message says what was wrong and what to do.

    Parameters
    ----------
    message : str
        Plain-language explanation, naming the file or argument concerned.
    name : str, optional
        The file, column or argument the message is about.
    """

    def __init__(self, message, *, name=None):
        super().__init__(message)
        self.message = message
        self.name = name

    def __str__(self):
        return self.message


class WorkspaceError(MsdashError, OSError):
    """A saved data set (or other workspace entry) is missing or damaged."""
