"""Errors of the data layer that the CLI and API show to the user as one line."""


class DataError(Exception):
    """Bad input data (an import file, a field value): the message says where and why."""
