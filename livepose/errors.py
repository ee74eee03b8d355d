"""Errors livepose reports to users."""


class LiveposeError(Exception):
    """Base of livepose's own errors."""


class UserError(LiveposeError):
    """A user's mistake (bad file, argument, missing model or camera).

    The CLI prints the message, which says what to do, without a traceback and exits 2.
    """
