"""Loading Sionna, the optional library behind the 5G NR links (``pip install symcodec[links]``).

Sionna (``sionna-no-rt``, PyTorch based) is imported lazily, on the first link that needs it,
so ``import symcodec.channel.nr`` works without it and a missing extra is a one-line
:class:`~symcodec.errors.SymcodecError`, not an ``ImportError`` deep in a call.

Importing Sionna has a side effect on global state: its ``config`` object reseeds torch's
default CPU generator from OS entropy. :func:`require_sionna` saves torch's global RNG state
before the first import and restores it after, so using a link never changes what
``torch.rand`` draws elsewhere in the process.

>>> isinstance(sionna_available(), bool)
True
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ...errors import SymcodecError

__all__ = ["INSTALL_HINT", "require_sionna", "sionna_available", "torch_threads"]

INSTALL_HINT = "5G NR links need Sionna: install symcodec[links] (sionna-no-rt)"


def sionna_available() -> bool:
    """True when the ``sionna`` package can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("sionna") is not None
    except (ImportError, ValueError):  # e.g. a module entry set to None
        return False


def require_sionna() -> None:
    """Import the Sionna modules the links use, or raise a one-line SymcodecError.

    Safe to call often (later calls are dictionary look-ups). torch's global RNG state is the
    same before and after the call.
    """
    if not sionna_available():
        raise SymcodecError(INSTALL_HINT)
    state = torch.get_rng_state()
    try:
        import sionna.phy.fec.ldpc  # noqa: F401
        import sionna.phy.mapping  # noqa: F401
        import sionna.phy.nr  # noqa: F401
        import sionna.sys  # noqa: F401
    except ImportError as exc:  # a broken or partial install
        raise SymcodecError(f"{INSTALL_HINT}; importing it failed: {exc}") from None
    finally:
        torch.set_rng_state(state)


@contextmanager
def torch_threads(count: int = 1) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads, then restore the previous count.

    Sionna's LDPC decoder is many small torch ops: on busy cores one thread is several times
    faster than two. (torch's thread count is process-wide; it is restored on exit.)

    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    previous = torch.get_num_threads()
    if previous == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
