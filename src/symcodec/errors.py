"""The one exception type symcodec raises for bad input."""


class SymcodecError(Exception):
    """Bad input: a corrupt or truncated file, an unknown symmetry, a value out of range.

    The message is one line that names the problem; the CLI prints it as
    ``symcodec: error: <message>`` and exits with status 2.
    """
