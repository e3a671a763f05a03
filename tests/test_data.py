"""Data loaders: IDX and CIFAR fixtures in the exact on-disk formats, safety, messages."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from symcodec import data
from symcodec.data import (
    Dataset,
    batches,
    dataset_names,
    load_dataset,
    read_cifar_batch,
    read_idx,
)
from symcodec.errors import SymcodecError

STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# --------------------------------------------------------------------------- fixtures


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: 0x0000, type 0x08, ndim, big-endian dims, data."""
    assert arr.dtype == np.uint8
    head = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.tobytes()


def write_idx(path: Path, arr: np.ndarray, gz: bool) -> Path:
    raw = idx_bytes(arr)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def make_idx_set(directory: Path, gz: bool, n_train=12, n_test=5, seed=0):
    """Write the four MNIST-style IDX files; return the arrays written."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = (
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_train, dtype=np.uint8),
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_test, dtype=np.uint8),
    )
    for stem, arr in zip(STEMS, arrays, strict=True):
        write_idx(directory / stem, arr, gz)
    return arrays


def make_cifar_set(directory: Path, per_batch=4, n_test=3, protocol=None, seed=0):
    """Write data_batch_1..5 and test_batch as pickled dicts with bytes keys (real format)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        batch = {
            b"batch_label": b"training batch",
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)],
        }
        with open(directory / name, "wb") as handle:
            pickle.dump(batch, handle, protocol=protocol)
        written[name] = batch
    return written


def denormalize(x: torch.Tensor, ds: Dataset) -> np.ndarray:
    mean = torch.tensor(ds.mean).view(1, -1, 1, 1)
    std = torch.tensor(ds.std).view(1, -1, 1, 1)
    return torch.round((x * std + mean) * 255).to(torch.int64).numpy()


# --------------------------------------------------------------------------- names


def test_dataset_names():
    assert dataset_names() == ["mnist-5k", "fashion-mnist", "mnist", "cifar10"]


def test_unknown_dataset_lists_names():
    with pytest.raises(SymcodecError) as info:
        load_dataset("imagenet")
    msg = str(info.value)
    assert "\n" not in msg and "imagenet" in msg
    for name in dataset_names():
        assert name in msg


# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "a-idx3-ubyte", arr, gz)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, arr)


def test_read_idx_other_dtypes(tmp_path):
    arr = np.array([[1.5, -2.0], [3.25, 0.0]], dtype=">f4")
    head = struct.pack(">BBBBII", 0, 0, 0x0D, 2, 2, 2)
    (tmp_path / "f").write_bytes(head + arr.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "f"), arr.astype(np.float32))


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_idx_names_file(tmp_path, gz):
    raw = idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-10]
    path = tmp_path / ("t10k-images-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(SymcodecError, match="truncated") as info:
        read_idx(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_gzip_stream(tmp_path):
    blob = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8).reshape(2, 100)))
    path = tmp_path / "x-idx2-ubyte.gz"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(SymcodecError, match="x-idx2-ubyte.gz"):
        read_idx(path)


@pytest.mark.parametrize(
    "raw, what",
    [
        (b"", "truncated"),
        (b"\x00\x00", "truncated"),
        (b"PK\x03\x04" + bytes(20), "not an IDX"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
        (idx_bytes(np.zeros(4, np.uint8)) + b"\x00", "beyond"),
        (b"\x00\x00\x07\x01" + bytes(8), "not an IDX"),
    ],
)
def test_corrupt_idx(tmp_path, raw, what):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(raw)
    with pytest.raises(SymcodecError, match=what):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_load_idx_dataset_exact(tmp_path, name, gz):
    tx, ty, vx, vy = make_idx_set(tmp_path, gz)
    ds = load_dataset(name, data_dir=tmp_path)
    assert ds.name == name and ds.source == str(tmp_path)
    assert ds.num_classes == 10 and ds.input_shape == (1, 28, 28)
    assert ds.train_x.shape == (12, 1, 28, 28) and ds.test_x.shape == (5, 1, 28, 28)
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
    np.testing.assert_array_equal(denormalize(ds.train_x, ds)[:, 0], tx)
    np.testing.assert_array_equal(denormalize(ds.test_x, ds)[:, 0], vx)
    np.testing.assert_array_equal(ds.train_y.numpy(), ty)
    np.testing.assert_array_equal(ds.test_y.numpy(), vy)


def test_idx_found_one_level_down_and_not_in_other_datasets_dir(tmp_path):
    make_idx_set(tmp_path / "fashion-mnist", gz=True, seed=1)
    with pytest.raises(SymcodecError, match="mnist not found"):
        load_dataset("mnist", data_dir=tmp_path)  # the fashion-mnist subdir is not MNIST
    assert load_dataset("fashion-mnist", data_dir=tmp_path).source == str(
        tmp_path / "fashion-mnist"
    )
    make_idx_set(tmp_path / "digits", gz=False, seed=2)
    assert load_dataset("mnist", data_dir=tmp_path).source == str(tmp_path / "digits")


def test_idx_label_count_mismatch(tmp_path):
    make_idx_set(tmp_path, gz=False)
    write_idx(tmp_path / STEMS[1], np.zeros(11, np.uint8), gz=False)
    with pytest.raises(SymcodecError, match="11 labels for 12 images"):
        load_dataset("mnist", data_dir=tmp_path)


def test_missing_fashion_mnist_message(tmp_path, monkeypatch):
    missing = tmp_path / "no-debian"
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", missing)
    monkeypatch.setenv("SYMCODEC_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_urlopen", _no_network)
    with pytest.raises(SymcodecError) as info:
        load_dataset("fashion-mnist")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"fashion-mnist not found in {missing}")
    for part in ("dataset-fashion-mnist", "make fashion-mnist", "--data-dir", "--download"):
        assert part in msg


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_missing_dataset_in_data_dir(tmp_path, monkeypatch, name):
    monkeypatch.setattr(data, "_urlopen", _no_network)
    with pytest.raises(SymcodecError) as info:
        load_dataset(name, data_dir=tmp_path / "empty")
    msg = str(info.value)
    assert "\n" not in msg and str(tmp_path / "empty") in msg and "--download" in msg


def _no_network(url):
    raise AssertionError(f"network access without download=True: {url}")


# --------------------------------------------------------------------------- CIFAR


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_cifar_batch_round_trip(tmp_path, protocol):
    written = make_cifar_set(tmp_path, protocol=protocol)
    x, y = read_cifar_batch(tmp_path / "data_batch_3")
    batch = written["data_batch_3"]
    assert x.dtype == np.uint8 and x.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(x.reshape(4, 3072), batch[b"data"])
    assert y.tolist() == batch[b"labels"]
    # Channel layout of the real files: 1024 red, 1024 green, 1024 blue, each row-major.
    np.testing.assert_array_equal(x[:, 1, 2, 5], batch[b"data"][:, 1024 + 2 * 32 + 5])


def test_cifar_str_keys_accepted(tmp_path):
    d = {"data": np.full((1, 3072), 7, np.uint8), "labels": [9]}
    (tmp_path / "b").write_bytes(pickle.dumps(d))
    x, y = read_cifar_batch(tmp_path / "b")
    assert int(x.max()) == 7 and y.tolist() == [9]


@pytest.mark.parametrize("sub", ["", "cifar-10-batches-py"])
def test_load_cifar10_exact(tmp_path, sub):
    written = make_cifar_set(tmp_path / sub if sub else tmp_path)
    ds = load_dataset("cifar10", data_dir=tmp_path)
    assert ds.train_x.shape == (20, 3, 32, 32) and ds.test_x.shape == (3, 3, 32, 32)
    assert ds.input_shape == (3, 32, 32) and ds.num_classes == 10
    train = np.concatenate([written[f"data_batch_{i}"][b"data"] for i in range(1, 6)])
    labels = sum((written[f"data_batch_{i}"][b"labels"] for i in range(1, 6)), [])
    np.testing.assert_array_equal(denormalize(ds.train_x, ds).reshape(20, 3072), train)
    assert ds.train_y.tolist() == labels
    np.testing.assert_array_equal(
        denormalize(ds.test_x, ds).reshape(3, 3072), written["test_batch"][b"data"]
    )


class _Evil:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _EvalEvil:
    def __reduce__(self):
        return (eval, ("__import__('pathlib').Path('/tmp').exists()",))


def test_malicious_cifar_pickle_refused_not_executed(tmp_path):
    make_cifar_set(tmp_path)
    marker = tmp_path / "pwned"
    evil = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [_Evil(f"touch {marker}")]}
    (tmp_path / "data_batch_2").write_bytes(pickle.dumps(evil))
    with pytest.raises(SymcodecError) as info:
        load_dataset("cifar10", data_dir=tmp_path)
    msg = str(info.value)
    assert "refusing to unpickle" in msg and "system" in msg and "data_batch_2" in msg
    assert "\n" not in msg
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_eval_pickle_refused(tmp_path, protocol):
    (tmp_path / "b").write_bytes(pickle.dumps({b"data": _EvalEvil()}, protocol=protocol))
    with pytest.raises(SymcodecError, match=r"refusing to unpickle (__builtin__|builtins)\.eval"):
        read_cifar_batch(tmp_path / "b")


def test_codecs_encode_only_latin1(tmp_path):
    # _codecs.encode is allowed only as protocol 2 uses it for bytes (latin1).
    payload = b"\x80\x02c_codecs\nencode\nq\x00X\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R."
    (tmp_path / "b").write_bytes(payload)
    with pytest.raises(SymcodecError, match="refusing"):
        read_cifar_batch(tmp_path / "b")


@pytest.mark.parametrize(
    "obj, what",
    [
        ([1, 2], "expected a pickled dict"),
        ({b"data": np.zeros((1, 3072), np.uint8)}, "lacks"),
        ({b"data": np.zeros((1, 100), np.uint8), b"labels": [1]}, "3072"),
        ({b"data": np.zeros((1, 3072), np.float32), b"labels": [1]}, "uint8"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1]}, "1 labels for 2"),
        ({b"data": np.zeros((1, 3072), np.uint8), b"labels": [10]}, "out of range"),
        ({b"data": np.zeros((1, 3072), np.uint8), b"labels": ["x"]}, "integers"),
    ],
)
def test_bad_cifar_batch_contents(tmp_path, obj, what):
    (tmp_path / "b").write_bytes(pickle.dumps(obj))
    with pytest.raises(SymcodecError, match=what):
        read_cifar_batch(tmp_path / "b")


def test_truncated_cifar_pickle(tmp_path):
    blob = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]})
    (tmp_path / "b").write_bytes(blob[:100])
    with pytest.raises(SymcodecError, match="not a readable CIFAR batch"):
        read_cifar_batch(tmp_path / "b")


# --------------------------------------------------------------------------- downloads


class _FakeWeb:
    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requested: list[str] = []

    def __call__(self, url):
        self.requested.append(url)
        name = url.rsplit("/", 1)[1]
        if name not in self.files:
            raise OSError(f"404 {url}")
        return io.BytesIO(self.files[name])


def _gz_idx_files(seed=3):
    rng = np.random.default_rng(seed)
    arrays = (
        rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 6, dtype=np.uint8),
        rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 2, dtype=np.uint8),
    )
    files = {f"{s}.gz": gzip.compress(idx_bytes(a)) for s, a in zip(STEMS, arrays, strict=True)}
    return files, arrays


def test_download_idx_checksummed(tmp_path, monkeypatch):
    files, arrays = _gz_idx_files()
    web = _FakeWeb(files)
    md5 = {k: hashlib.md5(v).hexdigest() for k, v in files.items()}
    monkeypatch.setattr(data, "_urlopen", web)
    monkeypatch.setitem(data._IDX_DOWNLOADS, "mnist", (("https://a.example/",), md5))
    ds = load_dataset("mnist", data_dir=tmp_path, download=True)
    assert ds.source == str(tmp_path / "mnist")
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(files)
    np.testing.assert_array_equal(ds.test_y.numpy(), arrays[3])
    # Second call finds the files; nothing is fetched again.
    web.requested.clear()
    load_dataset("mnist", data_dir=tmp_path, download=True)
    assert web.requested == []


def test_download_bad_checksum_leaves_nothing(tmp_path, monkeypatch):
    files, _ = _gz_idx_files()
    md5 = {k: "0" * 32 for k in files}
    monkeypatch.setattr(data, "_urlopen", _FakeWeb(files))
    monkeypatch.setitem(
        data._IDX_DOWNLOADS, "fashion-mnist", (("https://a.example/", "https://b.example/"), md5)
    )
    with pytest.raises(SymcodecError, match="MD5") as info:
        load_dataset("fashion-mnist", data_dir=tmp_path, download=True)
    assert "\n" not in str(info.value) and "b.example" in str(info.value)
    assert list((tmp_path / "fashion-mnist").iterdir()) == []


def test_download_cifar_archive(tmp_path, monkeypatch):
    src = tmp_path / "src"
    written = make_cifar_set(src / "cifar-10-batches-py")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
        evil = tarfile.TarInfo("../escape")  # never extracted: not one of the wanted names
        evil.size = 1
        tar.addfile(evil, io.BytesIO(b"x"))
    archive = buf.getvalue()
    monkeypatch.setattr(data, "_urlopen", _FakeWeb({"cifar-10-python.tar.gz": archive}))
    monkeypatch.setattr(data, "_CIFAR_MD5", hashlib.md5(archive).hexdigest())
    dest = tmp_path / "dest"
    dest.mkdir()
    ds = load_dataset("cifar10", data_dir=dest, download=True)
    assert ds.source == str(dest / "cifar-10-batches-py")
    assert ds.test_y.tolist() == written["test_batch"][b"labels"]
    assert not (tmp_path / "escape").exists()


# --------------------------------------------------------------------------- mnist-5k


def test_mnist_5k_split_shapes_and_determinism():
    a = load_dataset("mnist-5k")
    assert (a.num_train, a.num_test) == (4000, 1000)
    assert a.train_x.shape == (4000, 1, 28, 28) and a.test_x.shape == (1000, 1, 28, 28)
    assert a.train_x.dtype == torch.float32 and a.test_y.dtype == torch.int64
    assert a.input_shape == (1, 28, 28) and a.num_classes == 10
    assert "mnist_5k" in a.source
    b = load_dataset("mnist-5k", seed=0)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    c = load_dataset("mnist-5k", seed=1)
    assert not torch.equal(a.test_y, c.test_y)
    # Together the two parts hold every sample exactly once (same label histogram).
    both = torch.bincount(torch.cat([a.train_y, a.test_y]), minlength=10)
    both_c = torch.bincount(torch.cat([c.train_y, c.test_y]), minlength=10)
    assert torch.equal(both, both_c) and int(both.sum()) == 5000
    pixels = denormalize(a.train_x[:50], a)
    assert pixels.min() >= 0 and pixels.max() <= 255
    assert abs(float(a.train_x.mean())) < 0.05 and abs(float(a.train_x.std()) - 1) < 0.05


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_debian_fashion_mnist():
    ds = load_dataset("fashion-mnist")
    assert ds.source == "/usr/share/datasets/fashion-mnist"
    assert (ds.num_train, ds.num_test) == (60000, 10000)
    assert ds.train_x.shape == (60000, 1, 28, 28)
    assert torch.equal(torch.bincount(ds.test_y), torch.full((10,), 1000))
    assert abs(float(ds.train_x.mean())) < 0.01 and abs(float(ds.train_x.std()) - 1) < 0.01


# --------------------------------------------------------------------------- batches


def test_batches_cover_everything_once():
    x = torch.arange(23.0).reshape(23, 1)
    y = torch.arange(23)
    plain = list(batches(x, y, 5))
    assert [len(b[1]) for b in plain] == [5, 5, 5, 5, 3]
    assert torch.equal(torch.cat([b[1] for b in plain]), y)
    shuffled = list(batches(x, y, 5, shuffle=True, seed=7))
    order = torch.cat([b[1] for b in shuffled])
    assert sorted(order.tolist()) == list(range(23)) and not torch.equal(order, y)
    assert all(torch.equal(bx[:, 0].long(), by) for bx, by in shuffled)
    again = torch.cat([b[1] for b in batches(x, y, 5, shuffle=True, seed=7)])
    assert torch.equal(order, again)


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_batches_bad_size(size):
    with pytest.raises(SymcodecError):
        list(batches(torch.zeros(3, 1), torch.zeros(3), size))


def test_batches_length_mismatch():
    with pytest.raises(SymcodecError, match="3 inputs but 2 labels"):
        list(batches(torch.zeros(3, 1), torch.zeros(2), 2))
