"""Reading models and writing files atomically.

Models are read from ``.safetensors`` or from ``.pt``/``.pth`` through
``torch.load(weights_only=True)``; nothing is ever unpickled without that guard.
Every file symcodec writes goes to a temporary file in the target directory, is
flushed and fsynced, then renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import torch

from .errors import SymcodecError

StateDict = dict[str, torch.Tensor]


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only on success.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with atomic_open(os.path.join(d, "x.txt"), "w") as f:
    ...     _ = f.write("hello")
    >>> open(os.path.join(d, "x.txt")).read()
    'hello'
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise SymcodecError(f"cannot write {path}: directory {directory} does not exist")
    if path.is_dir():
        raise SymcodecError(f"cannot write {path}: it is a directory")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def read_bytes(path: str | os.PathLike) -> bytes:
    """Read a whole file, turning OS errors into a one-line :class:`SymcodecError`."""
    path = Path(path)
    if path.is_dir():
        raise SymcodecError(f"{path} is a directory, not a file")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SymcodecError(f"{path}: no such file") from None
    except PermissionError:
        raise SymcodecError(f"{path}: permission denied") from None
    except OSError as exc:
        raise SymcodecError(f"{path}: cannot read ({exc.strerror})") from None


def load_state_dict(path: str | os.PathLike) -> tuple[StateDict, dict[str, str]]:
    """Load a state dict and its string metadata from ``.safetensors``, ``.pt`` or ``.pth``.

    ``.pt``/``.pth`` files go through ``torch.load(weights_only=True)``, which refuses
    arbitrary pickled objects. Returns ``(state_dict, metadata)``; metadata is empty for
    torch files.
    """
    path = Path(path)
    data = read_bytes(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors import safe_open  # noqa: F401  (import checks availability)
        from safetensors.torch import load as st_load

        try:
            tensors = st_load(data)
            metadata = _safetensors_metadata(data)
        except Exception as exc:  # safetensors raises several types for bad files
            raise SymcodecError(
                f"{path}: not a valid safetensors file ({_first_line(exc)})"
            ) from None
        # safetensors stores tensors sorted by dtype and name; restore a natural layer order
        return {k: tensors[k] for k in sorted(tensors, key=_natural_key)}, metadata
    if suffix in (".pt", ".pth"):
        import io as _io

        try:
            obj = torch.load(_io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise SymcodecError(
                f"{path}: not a loadable torch weights file ({_first_line(exc)})"
            ) from None
        if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
            obj = obj["state_dict"]
        if not isinstance(obj, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
        ):
            raise SymcodecError(f"{path}: expected a state dict of named tensors")
        return dict(obj), {}
    raise SymcodecError(
        f"{path}: unsupported model file type {suffix or '(none)'!r}; use .safetensors, .pt or .pth"
    )


def save_state_dict(
    path: str | os.PathLike, state_dict: StateDict, metadata: dict[str, str] | None = None
) -> None:
    """Save a state dict as ``.safetensors`` atomically, with string ``metadata``."""
    from safetensors.torch import save as st_save

    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items()}
    data = st_save(tensors, metadata={k: str(v) for k, v in (metadata or {}).items()})
    write_bytes_atomic(path, data)


def _natural_key(name: str) -> list:
    """``conv2`` before ``conv10``: digit runs compare as numbers."""
    import re

    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    import json
    import struct

    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    return dict(header.get("__metadata__", {}) or {})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
