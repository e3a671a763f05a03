"""The ``symcodec`` command line: a thin shell over the library.

Every command has ``--help``. Bad input prints one line ``symcodec: error: ...`` on
stderr and exits with status 2; nothing is left half-written.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from ..errors import SymcodecError

# Modules that add subcommands; each has ``register(subparsers)``.
_COMMAND_MODULES = (
    "codec_commands",
    "train_commands",
    "link_commands",
    "plan_link_commands",
    "bler_commands",
    "study_commands",
)

EXIT_BAD_INPUT = 2


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that every ``with`` block unwinds:
    temporary files are discarded and finished results (already renamed into place) stay."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # main() prefixes "symcodec: error: "; name the subcommand only (argparse reports
        # unknown options from the top-level parser, whose prog is the program itself).
        command = self.prog.removeprefix("symcodec").strip()
        raise SymcodecError(f"{command}: {message}" if command else message)


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__

    parser = _Parser(
        prog="symcodec",
        description=(
            "Send neural networks over narrow, noisy links: transmit only the degrees of "
            "freedom of symmetric convolution kernels, and project at the receiver."
        ),
    )
    parser.add_argument("--version", action="version", version=f"symcodec {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    import importlib

    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{module_name}":
                continue  # a command group not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 success, 2 bad input, 130 interrupted by
    SIGINT, 143 by SIGTERM)."""
    parser = build_parser()
    previous = _handle_sigterm()
    try:
        args = parser.parse_args(argv)
        result = args.func(args)
        return int(result or 0)
    except SymcodecError as exc:
        print(f"symcodec: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Terminated:
        print(
            "symcodec: terminated (finished results are kept; run again to resume)", file=sys.stderr
        )
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(
            "symcodec: interrupted (finished results are kept; run again to resume)",
            file=sys.stderr,
        )
        return 128 + signal.SIGINT
    except BrokenPipeError:
        return 0
    except Exception as exc:  # never a traceback for the user, unless asked
        if os.environ.get("SYMCODEC_DEBUG"):
            raise
        print(
            f"symcodec: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            "(set SYMCODEC_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _handle_sigterm():
    """Turn SIGTERM into :class:`Terminated` while a command runs (main thread only);
    returns the previous handler, or None where none was installed."""
    try:
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread of the interpreter
        return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run() -> None:  # pragma: no cover - console entry point
    sys.exit(main())
