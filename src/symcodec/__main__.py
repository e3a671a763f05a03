"""``python -m symcodec``: the command line."""

from .cli import run

run()
