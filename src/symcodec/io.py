"""Reading models and writing files atomically.

Models are read from ``.safetensors`` or from ``.pt``/``.pth`` through
``torch.load(weights_only=True)``; nothing is ever unpickled without that guard.
Every file symcodec writes goes to a temporary file in the target directory, is
flushed and fsynced, then renamed into place, so a reader never sees half a file.
On Linux the temporary file has no name until it is complete (``O_TMPFILE``), so not even
a writer killed mid-write leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import torch

from .errors import SymcodecError

StateDict = dict[str, torch.Tensor]

# Linux: open an unnamed file in a directory, linked to a name only once it is complete.
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only on success.

    On an error or an interrupt inside the block, ``path`` keeps its old contents and the
    temporary file is removed. Where the OS allows it (Linux ``O_TMPFILE``) the temporary
    file has no name until the block has finished, so a process killed mid-write (SIGKILL,
    power loss) leaves nothing behind either; elsewhere it is a hidden
    ``.NAME.XXXXXXXX.tmp`` beside ``path``.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with atomic_open(os.path.join(d, "x.txt"), "w") as f:
    ...     _ = f.write("hello")
    >>> open(os.path.join(d, "x.txt")).read()
    'hello'
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not _is_dir(directory):
        raise SymcodecError(f"cannot write {path}: directory {directory} does not exist")
    if _is_dir(path):
        raise SymcodecError(f"cannot write {path}: it is a directory")
    try:
        fd, tmp = _open_temporary(directory, path)
    except (OSError, ValueError) as exc:
        raise SymcodecError(f"cannot write {path}: {_os_reason(exc)}") from None
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            try:
                handle.flush()
                os.fsync(handle.fileno())
                if tmp is None:
                    tmp = _name_temporary(handle.fileno(), directory, path)
            except OSError as exc:
                raise SymcodecError(f"cannot write {path}: {_os_reason(exc)}") from None
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise SymcodecError(f"cannot write {path}: {_os_reason(exc)}") from None
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


def _open_temporary(directory: Path, path: Path) -> tuple[int, str | None]:
    """A file descriptor to write to, and the temporary name (None: an unnamed file).

    The file gets the permissions ``open()`` would give a new file (``0o666`` less the
    umask), so outputs are as readable as any other file the user creates."""
    mode = 0o666 & ~_umask()
    if _O_TMPFILE and os.path.isdir("/proc/self/fd"):
        try:
            fd = os.open(directory, _O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
        else:
            os.fchmod(fd, mode)
            return fd, None
    # no O_TMPFILE here (or not on this file system): a hidden named file
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    os.fchmod(fd, mode)
    return fd, tmp


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc``)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)  # elsewhere: read it by setting it, and put it back
    os.umask(current)
    return current


def _name_temporary(fd: int, directory: Path, path: Path) -> str:
    """Link a complete unnamed file to a hidden name beside ``path``, ready for the rename."""
    # linkat(/proc/self/fd, "N", ..., AT_SYMLINK_FOLLOW): a dir fd makes Python use linkat
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_CLOEXEC)
    try:
        for _ in range(100):
            tmp = str(directory / f".{path.name}.{secrets.token_hex(4)}.tmp")
            try:
                os.link(str(fd), tmp, src_dir_fd=proc, follow_symlinks=True)
                return tmp
            except FileExistsError:
                continue
    finally:
        os.close(proc)
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(directory))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    with atomic_open(path, "wb") as handle:
        try:
            handle.write(data)
        except OSError as exc:  # e.g. no space left on the device
            raise SymcodecError(f"cannot write {path}: {_os_reason(exc)}") from None


def read_bytes(path: str | os.PathLike) -> bytes:
    """Read a whole file, turning OS errors into a one-line :class:`SymcodecError`."""
    path = Path(path)
    if _is_dir(path):
        raise SymcodecError(f"{path} is a directory, not a file")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SymcodecError(f"{path}: no such file") from None
    except PermissionError:
        raise SymcodecError(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise SymcodecError(f"{path} is a directory, not a file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise SymcodecError(f"{path}: cannot read ({_os_reason(exc)})") from None
    except MemoryError:
        raise SymcodecError(f"{path}: too large to read into memory") from None


def _is_dir(path: Path) -> bool:
    """``path.is_dir()`` that answers False instead of raising (name too long, NUL byte)."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _os_reason(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).strip()


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
        import pickle
        import warnings

        try:
            with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": one line only
                warnings.simplefilter("ignore")
                obj = torch.load(_io.BytesIO(data), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:  # a pickle holding more than tensors, or garbage
            raise SymcodecError(
                f"{path}: not a loadable torch weights file (torch.load(weights_only=True) "
                f"refused it: {_unpickler_reason(exc)})"
            ) from None
        except Exception as exc:
            reason = _first_line(exc)
            if not any(c.isalpha() for c in reason):  # KeyError(544502645) from a text file
                reason = f"not a torch archive or pickle: {type(exc).__name__} {reason}"
            raise SymcodecError(f"{path}: not a loadable torch weights file ({reason})") from None
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


def _unpickler_reason(exc: BaseException) -> str:
    """The reason torch's weights-only unpickler gives, without its advice to turn it off."""
    text = str(exc)
    marker = "WeightsUnpickler error:"
    if marker in text:
        text = text.split(marker, 1)[1]
    elif text.startswith("Weights only load failed"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Please file an issue", "Check the documentation")):
            return line
    return "the file holds objects other than tensors"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
