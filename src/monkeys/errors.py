"""The base of errors a user can fix: the workflow prints their message, not a traceback."""


class MonkeysError(Exception):
    """A problem with the user's config, data, weights or environment; the message says how to fix it."""
