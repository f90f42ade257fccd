"""Errors that mean "the user can fix this": the CLI prints them without a traceback and exits 2."""


class BrainnetError(Exception):
    """Base class of the errors brainnet raises on purpose."""


class UserInputError(BrainnetError, ValueError):
    """Bad input from the user: a file, a column, an option. The message says what to fix."""


class ModelFormatError(UserInputError):
    """A model directory that is missing, corrupt, truncated, foreign or from a newer brainnet."""


class BadImageError(UserInputError):
    """An image file that is missing, not an image, truncated or corrupt, or too large to decode."""
