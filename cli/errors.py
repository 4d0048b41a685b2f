"""The one exception type a command raises for a failure the user can act on."""


class CommandError(Exception):
    """A failure the user can act on, printed as one line."""
