"""User-facing errors: one clear line on stderr and exit code 2 from the CLI."""


class AutogasError(Exception):
    """A problem with the user's input (file, argument, data) rather than a bug.

    The CLI prints ``autogas: error: <message>`` on one line and exits with status 2.
    """
