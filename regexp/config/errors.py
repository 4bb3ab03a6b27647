"""Errors that the CLI turns into one line on stderr and exit code 2 (no traceback)."""


class UsageError(Exception):
    """Bad input from the user: a config key, an override, a path or a flag."""


class ConfigError(UsageError):
    """A config key holds a value that is not allowed."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"{key}: {message}")
