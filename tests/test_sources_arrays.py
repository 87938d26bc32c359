"""In-memory loaders (CIFAR-10, STL-10, IDX, USPS, SVHN) on tiny fixtures written
in each dataset's real on-disk format, plus the shared conversion and error helpers."""

from __future__ import annotations

import bz2
import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from dabench.data.base import TensorImageDataset, dataset_targets
from dabench.data.class_maps import CIFAR10_CLASSES
from dabench.data.pairs import DataContext
from dabench.data.sources import (
    DataCorruptError,
    load_cifar10,
    load_fashion_mnist,
    load_mnist_idx,
    load_stl10,
    load_svhn,
    load_usps,
    read_idx,
    require_files,
    to_unit_images,
)
from dabench.data.sources import idx as idx_module
from dabench.data.sources.common import ensure_files
from dabench.errors import DataMissingError, UserError


@pytest.fixture(autouse=True)
def _no_system_fashion_mnist(tmp_path, monkeypatch):
    """Keep an installed Debian Fashion-MNIST from leaking into these tests."""
    monkeypatch.setattr(idx_module, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")


def ctx(root: Path) -> DataContext:
    return DataContext(root, download=False)


def rand_images(seed: int, n: int, h: int, w: int, c: int) -> np.ndarray:
    """HWC uint8 images, as a person would picture them."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def as_hwc_uint8(x: torch.Tensor) -> np.ndarray:
    return (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def check_contract(ds, n: int, shape: tuple[int, int, int], labels: list[int]) -> None:
    assert isinstance(ds, TensorImageDataset)
    assert len(ds) == n
    assert dataset_targets(ds).tolist() == labels
    for i in range(n):
        image, label = ds[i]
        assert image.dtype == torch.float32 and tuple(image.shape) == shape
        assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
        assert isinstance(label, int) and label == labels[i]


def assert_one_line_missing(err: pytest.ExceptionInfo, *fragments: str) -> str:
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# ---------------------------------------------------------------- CIFAR-10

CIFAR_NAMES = list(CIFAR10_CLASSES)


def cifar_rows(images: np.ndarray) -> np.ndarray:
    """The release's row layout: the red plane, then green, then blue, each row-major."""
    return np.stack([np.concatenate([im[:, :, c].ravel() for c in range(3)]) for im in images])


def write_cifar(root: Path) -> dict[str, tuple[np.ndarray, list[int]]]:
    """The release's pickles (protocol 2, str keys as Python 2 wrote them)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def key(name: str) -> str:
        return name

    written = {}
    files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(files):
        images = rand_images(k, 2, 32, 32, 3)
        labels = [(3 * k) % 10, (3 * k + 1) % 10]
        batch = {
            key("batch_label"): key(f"batch {k}"),
            key("labels"): labels,
            key("data"): cifar_rows(images),
            key("filenames"): [key(f"img_{k}_{j}.png") for j in range(2)],
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        written[name] = (images, labels)
    meta = {key("label_names"): [key(n) for n in CIFAR_NAMES], key("num_vis"): 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return written


def test_cifar10_train_and_test(tmp_path):
    written = write_cifar(tmp_path)
    train = load_cifar10(ctx(tmp_path), "train")
    expected_images = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)])
    expected_labels = sum((written[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    check_contract(train, 10, (3, 32, 32), expected_labels)
    assert train.classes == CIFAR_NAMES
    np.testing.assert_array_equal(as_hwc_uint8(train.x), expected_images)

    test = load_cifar10(ctx(tmp_path), "test")
    check_contract(test, 2, (3, 32, 32), written["test_batch"][1])
    np.testing.assert_array_equal(as_hwc_uint8(test.x), written["test_batch"][0])


def test_cifar10_resize_and_grey(tmp_path):
    written = write_cifar(tmp_path)
    ds = load_cifar10(ctx(tmp_path), "test", size=28, channels=1)
    check_contract(ds, 2, (1, 28, 28), written["test_batch"][1])
    native = load_cifar10(ctx(tmp_path), "test")
    grey = (native.x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    # Resizing preserves the mean brightness of each image.
    torch.testing.assert_close(
        ds.x.mean(dim=(1, 2, 3)), grey.mean(dim=(1, 2, 3)), atol=2e-3, rtol=0
    )


def test_cifar10_missing_names_files(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"")
    with pytest.raises(DataMissingError) as err:
        load_cifar10(ctx(tmp_path), "train")
    message = assert_one_line_missing(
        err, str(tmp_path), "cifar-10-batches-py/data_batch_2", "cifar-10-batches-py/batches.meta"
    )
    assert "--download" in message
    assert "data_batch_1" not in message  # present files are not reported


def test_cifar10_corrupt_pickle(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataCorruptError, match="test_batch"):
        load_cifar10(ctx(tmp_path), "test")


def test_unknown_split_is_user_error(tmp_path):
    with pytest.raises(UserError, match="valid"):
        load_cifar10(ctx(tmp_path), "valid")


# ---------------------------------------------------------------- STL-10

STL_NAMES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]


def write_stl(root: Path, split: str, images: np.ndarray, labels_1_to_10: list[int]) -> None:
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    # Each channel of each image stored column-major (Fortran order).
    raw = b"".join(im[:, :, c].ravel(order="F").tobytes() for im in images for c in range(3))
    (folder / f"{split}_X.bin").write_bytes(raw)
    (folder / f"{split}_y.bin").write_bytes(bytes(labels_1_to_10))
    (folder / "class_names.txt").write_text("\n".join(STL_NAMES) + "\n")


def test_stl10_column_major_and_labels(tmp_path):
    images = rand_images(7, 3, 96, 96, 3)
    images[0, 0, 1] = (255, 0, 0)  # row 0, column 1: a marker a transposition would move
    images[0, 1, 0] = (0, 0, 0)
    write_stl(tmp_path, "train", images, [1, 10, 5])
    write_stl(tmp_path, "test", images[:1], [1])  # torchvision wants both splits on disk
    ds = load_stl10(ctx(tmp_path), "train")
    check_contract(ds, 3, (3, 96, 96), [0, 9, 4])
    assert ds.classes == STL_NAMES
    np.testing.assert_array_equal(as_hwc_uint8(ds.x), images)
    assert ds.x[0, 0, 0, 1] == 1.0 and ds.x[0, 0, 1, 0] == 0.0


def test_stl10_resize_and_missing_and_corrupt(tmp_path):
    images = rand_images(8, 2, 96, 96, 3)
    write_stl(tmp_path, "test", images, [2, 3])
    with pytest.raises(DataMissingError) as err:
        load_stl10(ctx(tmp_path), "train")
    assert_one_line_missing(err, "stl10_binary/train_X.bin", "stl10_binary/train_y.bin")
    write_stl(tmp_path, "train", images, [1, 1])
    ds = load_stl10(ctx(tmp_path), "test", size=32, channels=3)
    check_contract(ds, 2, (3, 32, 32), [1, 2])
    (tmp_path / "stl10_binary" / "test_X.bin").write_bytes(b"\x00" * 1000)
    with pytest.raises(DataCorruptError, match="test_X.bin"):
        load_stl10(ctx(tmp_path), "test")


# ---------------------------------------------------------------- IDX (MNIST, Fashion-MNIST)


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write_idx(folder: Path, split: str, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "train" if split == "train" else "t10k"
    for name, array in (
        (f"{prefix}-images-idx3-ubyte", images),
        (f"{prefix}-labels-idx1-ubyte", labels),
    ):
        data = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_plain_and_gz(tmp_path, gz):
    images = rand_images(1, 4, 28, 28, 1)[..., 0]
    labels = np.array([7, 0, 3, 9], dtype=np.uint8)
    write_idx(tmp_path / "MNIST" / "raw", "test", images, labels, gz)
    ds = load_mnist_idx(ctx(tmp_path), "test")
    check_contract(ds, 4, (1, 28, 28), [7, 0, 3, 9])
    assert ds.classes == [str(i) for i in range(10)]
    np.testing.assert_array_equal(as_hwc_uint8(ds.x)[..., 0], images)


def test_mnist_idx_to_rgb_32(tmp_path):
    images = rand_images(2, 2, 28, 28, 1)[..., 0]
    write_idx(tmp_path / "MNIST" / "raw", "train", images, np.array([1, 2], np.uint8), gz=True)
    ds = load_mnist_idx(ctx(tmp_path), "train", size=32, channels=3)
    check_contract(ds, 2, (3, 32, 32), [1, 2])
    torch.testing.assert_close(ds.x[:, 0], ds.x[:, 2])  # grey copied to every channel


def test_fashion_mnist_torchvision_layout_and_debian_fallback(tmp_path, monkeypatch):
    images = rand_images(3, 3, 28, 28, 1)[..., 0]
    labels = np.array([0, 9, 8], dtype=np.uint8)
    debian = tmp_path / "usr-share-datasets-fashion-mnist"
    write_idx(debian, "test", images, labels, gz=True)  # Debian ships them gzipped
    monkeypatch.setattr(idx_module, "DEBIAN_FASHION_MNIST_DIR", debian)
    ds = load_fashion_mnist(ctx(tmp_path / "root"), "test")
    check_contract(ds, 3, (1, 28, 28), [0, 9, 8])
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    np.testing.assert_array_equal(as_hwc_uint8(ds.x)[..., 0], images)

    # The data root's own copy wins over the system one.
    write_idx(tmp_path / "root" / "FashionMNIST" / "raw", "test", images[:1], labels[:1], gz=False)
    assert len(load_fashion_mnist(ctx(tmp_path / "root"), "test")) == 1


def test_idx_missing_names_both_places(tmp_path):
    with pytest.raises(DataMissingError) as err:
        load_fashion_mnist(ctx(tmp_path), "train")
    assert_one_line_missing(
        err,
        str(tmp_path),
        "FashionMNIST/raw/train-images-idx3-ubyte[.gz]",
        "FashionMNIST/raw/train-labels-idx1-ubyte[.gz]",
        str(tmp_path / "no-debian"),
        "--download",
    )
    with pytest.raises(DataMissingError) as err:
        load_mnist_idx(ctx(tmp_path), "test")
    assert_one_line_missing(err, "MNIST/raw/t10k-images-idx3-ubyte[.gz]")


def test_read_idx_big_endian_types(tmp_path):
    ints = np.array([[1, -2, 70000], [0, 2**31 - 1, -(2**31)]], dtype=np.int64)
    (tmp_path / "ints").write_bytes(idx_bytes(ints, 0x0C))
    np.testing.assert_array_equal(read_idx(tmp_path / "ints"), ints)
    floats = np.array([0.5, -1.25, 3.0])
    (tmp_path / "floats.gz").write_bytes(gzip.compress(idx_bytes(floats, 0x0D)))
    np.testing.assert_array_equal(read_idx(tmp_path / "floats.gz", ndim=1), floats)


@pytest.mark.parametrize(
    "content, why",
    [
        (b"\x00\x00\x08", "bad magic"),
        (b"\x12\x34\x08\x03" + struct.pack(">3I", 1, 2, 2) + b"\x00" * 4, "bad magic"),
        (b"\x00\x00\x07\x03" + struct.pack(">3I", 1, 2, 2) + b"\x00" * 4, "bad magic"),
        (b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 2, 2) + b"\x00" * 5, "found 5"),
        (b"\x00\x00\x08\x03" + struct.pack(">2I", 2, 2), "truncated header"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 4) + b"\x00" * 4, "1 dimensions, expected 3"),
    ],
)
def test_read_idx_rejects_corrupt_files(tmp_path, content, why):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataCorruptError, match=why) as err:
        read_idx(path, ndim=3)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_corrupt_gzip_and_count_mismatch(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw, "train", np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8), gz=False)
    with pytest.raises(DataCorruptError, match="3 images .* 2 labels"):
        load_mnist_idx(ctx(tmp_path), "train")
    (raw / "train-images-idx3-ubyte").unlink()
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DataCorruptError, match=r"train-images-idx3-ubyte\.gz"):
        load_mnist_idx(ctx(tmp_path), "train")


# ---------------------------------------------------------------- USPS


def usps_line(label: int, values: np.ndarray) -> str:
    items = " ".join(f"{i + 1}:{v:.6f}" for i, v in enumerate(values))
    return f"{label} {items}\n"


def test_usps_libsvm_bz2(tmp_path):
    rng = np.random.default_rng(4)
    values = rng.uniform(-1, 1, size=(3, 256)).astype(np.float32)
    values[0, :3] = (-1.0, 1.0, 0.0)
    values[1, 17] = 0.0  # written as 18:0.000000: the release lists all 256 values
    lines = [usps_line(1, values[0]), usps_line(10, values[1]), usps_line(6, values[2])]
    (tmp_path / "usps.bz2").write_bytes(bz2.compress("".join(lines).encode()))
    ds = load_usps(ctx(tmp_path), "train")
    check_contract(ds, 3, (1, 16, 16), [0, 9, 5])
    assert ds.classes == [str(i) for i in range(10)]
    # torchvision's bytes: (v + 1) / 2 * 255, truncated (pair version 2).
    written = np.array([[float(f"{v:.6f}") for v in row] for row in values], dtype=np.float32)
    expected = ((written.reshape(3, 16, 16) + 1) / 2 * 255).astype(np.uint8) / 255.0
    torch.testing.assert_close(ds.x[:, 0], torch.from_numpy(expected).float(), atol=1e-6, rtol=0)
    assert ds.x[0, 0, 0, 0] == 0.0 and ds.x[0, 0, 0, 1] == 1.0 and ds.x[0, 0, 0, 2] == 127 / 255

    resized = load_usps(ctx(tmp_path), "train", size=28, channels=3)
    check_contract(resized, 3, (3, 28, 28), [0, 9, 5])


def test_usps_missing_and_corrupt(tmp_path):
    with pytest.raises(DataMissingError) as err:
        load_usps(ctx(tmp_path), "test")
    assert_one_line_missing(err, "usps.t.bz2", str(tmp_path), "--download")
    (tmp_path / "usps.t.bz2").write_bytes(bz2.compress(usps_line(11, np.zeros(256)).encode()))
    with pytest.raises(DataCorruptError, match="label 11"):
        load_usps(ctx(tmp_path), "test")
    (tmp_path / "usps.t.bz2").write_bytes(bz2.compress(b"3 1:0.5 2:0.5\n"))  # 2 of 256 values
    with pytest.raises(DataCorruptError, match=r"usps\.t\.bz2"):
        load_usps(ctx(tmp_path), "test")
    (tmp_path / "usps.t.bz2").write_bytes(b"plain text, not bz2")
    with pytest.raises(DataCorruptError, match=r"usps\.t\.bz2"):
        load_usps(ctx(tmp_path), "test")


# ---------------------------------------------------------------- SVHN


def test_svhn_mat(tmp_path):
    images = rand_images(5, 4, 32, 32, 3)
    (tmp_path / "svhn").mkdir()
    scipy.io.savemat(
        tmp_path / "svhn" / "test_32x32.mat",
        {
            "X": np.ascontiguousarray(images.transpose(1, 2, 3, 0)),
            "y": np.array([[10], [1], [5], [10]], np.uint8),
        },
    )
    ds = load_svhn(ctx(tmp_path), "test")
    check_contract(ds, 4, (3, 32, 32), [0, 1, 5, 0])
    assert ds.classes == [str(i) for i in range(10)]
    np.testing.assert_array_equal(as_hwc_uint8(ds.x), images)

    grey = load_svhn(ctx(tmp_path), "test", size=28, channels=1)
    check_contract(grey, 4, (1, 28, 28), [0, 1, 5, 0])


def test_svhn_missing_and_corrupt(tmp_path):
    with pytest.raises(DataMissingError) as err:
        load_svhn(ctx(tmp_path), "train")
    assert_one_line_missing(err, "svhn/train_32x32.mat", str(tmp_path))
    (tmp_path / "svhn").mkdir()
    (tmp_path / "svhn" / "train_32x32.mat").write_bytes(b"garbage" * 10)
    with pytest.raises(DataCorruptError, match="train_32x32.mat"):
        load_svhn(ctx(tmp_path), "train")


# ---------------------------------------------------------------- shared helpers


def test_to_unit_images_conversions():
    x = torch.tensor([[[[0, 255]], [[255, 0]], [[51, 102]]]], dtype=torch.uint8)  # 1x3x1x2
    out = to_unit_images(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, x.float() / 255)
    grey = to_unit_images(x, channels=1)
    expected = (0.299 * x[0, 0] + 0.587 * x[0, 1] + 0.114 * x[0, 2]).float() / 255
    torch.testing.assert_close(grey[0, 0], expected)
    rgb = to_unit_images(torch.full((2, 1, 4, 4), 0.25), size=8, channels=3)
    assert rgb.shape == (2, 3, 8, 8)
    torch.testing.assert_close(rgb, torch.full((2, 3, 8, 8), 0.25))
    many = torch.randint(0, 256, (5, 3, 6, 6), dtype=torch.uint8)
    torch.testing.assert_close(to_unit_images(many, 4, 1, chunk=2), to_unit_images(many, 4, 1))
    with pytest.raises(UserError):
        to_unit_images(many, channels=2)


def test_require_files_and_download_flow(tmp_path):
    (tmp_path / "a").write_text("x")
    assert require_files(tmp_path, ["a"], "Demo", "hint") == [tmp_path / "a"]
    with pytest.raises(DataMissingError) as err:
        require_files(tmp_path, ["a", "b/c", "d"], "Demo", "do this")
    assert str(err.value) == f"Demo data missing under {tmp_path}: b/c, d; do this"

    calls = []

    def fetch_ok():
        calls.append(1)
        (tmp_path / "b").write_text("y")

    downloading = DataContext(tmp_path, download=True)
    assert ensure_files(downloading, ["b"], "Demo", fetch_ok, "m") == [tmp_path / "b"]
    assert ensure_files(downloading, ["b"], "Demo", fetch_ok, "m") == [tmp_path / "b"]
    assert calls == [1]  # nothing is fetched once the files are there

    def fetch_offline():
        raise OSError("<urlopen error [Errno -3]\n Temporary failure in name resolution>")

    with pytest.raises(DataMissingError, match="Demo download failed") as err:
        ensure_files(downloading, ["z"], "Demo", fetch_offline, "m")
    assert "\n" not in str(err.value)
    with pytest.raises(DataMissingError, match="pass --download"):
        ensure_files(ctx(tmp_path), ["z"], "Demo", fetch_offline, "m")


def test_the_suite_cannot_reach_the_network():
    import socket

    with pytest.raises(AssertionError, match="reach the network"):
        socket.create_connection(("198.51.100.7", 80), timeout=0.1)
