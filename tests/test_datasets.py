"""IDX reading and writing, loader lookup order, downloads and offline errors.

No test touches the network: downloads are served from ``file://`` folders the
tests write, and OpenML's answers from scikit-learn's recorded ones.
"""

import functools
import gzip
import hashlib
import io
import os
import re
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from skmlp import datasets
from skmlp.datasets import load_digits, load_fashion_mnist, load_mnist, read_idx, write_idx


# ------------------------------------------------------------------ IDX
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, name, dtype):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == array.dtype and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)
    # gzip is detected from the content, not the name
    is_gz = (tmp_path / name).read_bytes()[:2] == b"\x1f\x8b"
    assert is_gz == name.endswith(".gz")


def test_idx_header_is_big_endian(tmp_path):
    write_idx(tmp_path / "x", np.zeros((3, 2), dtype=np.uint8))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x02"
    assert raw[4:12] == (3).to_bytes(4, "big") + (2).to_bytes(4, "big")


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "short-idx3-ubyte"
    write_idx(path, np.ones((10, 4, 4), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(ValueError, match=r"short-idx3-ubyte: truncated.*\(10, 4, 4\)"):
        read_idx(path)


def test_extra_bytes_are_refused(tmp_path):
    path = tmp_path / "long-idx1-ubyte"
    write_idx(path, np.ones(5, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="longer than its header says"):
        read_idx(path)


def test_wrong_magic_is_refused(tmp_path):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="bad-idx1-ubyte: not an IDX file"):
        read_idx(path)
    path.write_bytes(b"\x00\x00\x07\x01" + (3).to_bytes(4, "big") + b"abc")  # bad type code
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "cut-idx1-ubyte.gz"
    write_idx(path, np.arange(200, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(ValueError, match=r"cut-idx1-ubyte\.gz: cannot be decompressed"):
        read_idx(path)


def test_write_idx_rejects_unknown_dtype(tmp_path):
    with pytest.raises(TypeError, match="IDX cannot store"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.complex64))


# ------------------------------------------------------- a fake MNIST
def _fake_parts(n_train=60000, n_test=10000):
    return {
        "train_images": (np.arange(n_train * 784) % 251).astype(np.uint8).reshape(-1, 28, 28),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": (np.arange(n_test * 784) % 241).astype(np.uint8).reshape(-1, 28, 28),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }


@functools.cache
def _fake_sums():
    """SHA-256 of the fake files' IDX bytes: the fake's "official" checksums."""
    sums = {}
    for part, array in _fake_parts().items():
        header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
        sums[part] = hashlib.sha256(header + array.tobytes()).hexdigest()
    return sums


def _fake_mnist(folder: Path, *, dotted=False, gz=True, n_train=60000, n_test=10000):
    """Write an MNIST-shaped dataset (cheap patterns; labels cycle 0-9); return checksums."""
    parts = _fake_parts(n_train, n_test)
    sums = {}
    for part, array in parts.items():
        stem = datasets._PARTS[part]
        if dotted:
            stem = stem.replace("-idx", ".idx")
        path = folder / (stem + (".gz" if gz else ""))
        write_idx(path, array)
        sums[part] = hashlib.sha256(datasets._read_bytes(path)).hexdigest()
    return sums


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mnist-files")
    sums = _fake_mnist(folder)
    return folder, sums


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No SKMLP_DATA, an empty cache, no system folders, no reachable mirror.

    The fake MNIST's checksums stand in for the official ones.
    """
    monkeypatch.delenv("SKMLP_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name, ds in datasets.DATASETS.items():
        monkeypatch.setitem(
            datasets.DATASETS,
            name,
            datasets._Dataset(**{**ds.__dict__, "system_dirs": (), "sha256": _fake_sums(),
                                 "mirrors": ((tmp_path / "no-such-mirror").as_uri() + "/",)}),
        )  # fmt: skip
    return tmp_path


def _use_checksums(monkeypatch, name, sums):
    ds = datasets.DATASETS[name]
    monkeypatch.setitem(
        datasets.DATASETS, name, datasets._Dataset(**{**ds.__dict__, "sha256": sums})
    )


def test_loader_reads_either_spelling_raw_or_gz(tmp_path, isolated):
    for dotted, gz in [(False, True), (True, True), (True, False)]:
        folder = tmp_path / f"m-{dotted}-{gz}"
        _fake_mnist(folder, dotted=dotted, gz=gz)
        data = load_mnist(folder)
        assert data.X_train.shape == (60000, 784) and data.X_train.dtype == np.uint8
        assert data.X_test.shape == (10000, 784)
        assert data.y_train.dtype == np.int64 and set(np.unique(data.y_test)) == set(range(10))
        assert data.pixel_max == 255 and data.image_shape == (28, 28)
        assert len(data.sha256) == 64


def test_loader_checks_shapes(tmp_path, isolated):
    folder = tmp_path / "small"
    _fake_mnist(folder, n_train=100, n_test=10)
    with pytest.raises(
        ValueError, match=r"expected MNIST handwritten digits train images of shape \(60000"
    ):
        load_mnist(folder)


def test_lookup_order(tmp_path, isolated, fake_mnist, monkeypatch):
    source, _ = fake_mnist
    # 1. an explicit data_dir is used as it is, and is the only place searched
    assert load_mnist(source).files["train_images"].startswith(str(source))
    with pytest.raises(FileNotFoundError, match="not in data_dir"):
        load_mnist(tmp_path / "empty")
    # data_dir may also be a parent holding mnist/
    parent = tmp_path / "parent"
    (parent / "mnist").mkdir(parents=True)
    for f in source.iterdir():
        os.symlink(f, parent / "mnist" / f.name)
    assert "parent/mnist" in load_mnist(parent).files["train_images"]
    # 2. $SKMLP_DATA/mnist comes before the cache
    cache = tmp_path / "cache" / "skmlp" / "mnist"
    cache.mkdir(parents=True)
    for f in source.iterdir():
        os.symlink(f, cache / f.name)
    monkeypatch.setenv("SKMLP_DATA", str(parent))
    assert "parent/mnist" in load_mnist().files["train_images"]
    # 3. then the per-user cache
    monkeypatch.delenv("SKMLP_DATA")
    assert str(cache) in load_mnist().files["train_images"]


def test_debian_folder_for_fashion_mnist(tmp_path, isolated, fake_mnist, monkeypatch):
    source, _ = fake_mnist
    ds = datasets.DATASETS["fashion-mnist"]
    monkeypatch.setitem(
        datasets.DATASETS,
        "fashion-mnist",
        datasets._Dataset(**{**ds.__dict__, "system_dirs": (str(source),)}),
    )
    data = load_fashion_mnist()
    assert data.files["test_labels"].startswith(str(source))
    assert data.target_names[0] == "T-shirt/top"


def test_offline_error_says_what_to_do(isolated):
    with pytest.raises(OSError) as info:
        load_mnist()
    message = str(info.value)
    for needle in [
        "download failed",
        "train-images-idx3-ubyte.gz",
        "SKMLP_DATA",
        "data_dir",
        "Looked in",
    ]:
        assert needle in message
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_mnist(download=False)
    with pytest.raises(OSError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist()
    # nothing half-written is left in the cache
    cache = isolated / "cache" / "skmlp" / "mnist"
    assert not cache.exists() or not any(cache.iterdir())


def test_download_verifies_and_renames_atomically(tmp_path, isolated, fake_mnist, monkeypatch):
    source, sums = fake_mnist
    ds = datasets.DATASETS["mnist"]
    mirror = source.as_uri() + "/"
    monkeypatch.setitem(
        datasets.DATASETS, "mnist",
        datasets._Dataset(**{**ds.__dict__, "mirrors": (mirror,), "sha256": sums}),
    )  # fmt: skip
    data = load_mnist()
    cache = isolated / "cache" / "skmlp" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{stem}.gz" for stem in datasets._PARTS.values()
    )
    assert data.files["train_images"] == str(cache / "train-images-idx3-ubyte.gz")
    # a second call finds the cache and downloads nothing
    monkeypatch.setitem(
        datasets.DATASETS, "mnist",
        datasets._Dataset(**{**ds.__dict__, "mirrors": ("file:///nowhere/",), "sha256": sums}),
    )  # fmt: skip
    assert load_mnist().sha256 == data.sha256


def test_download_with_wrong_checksum_leaves_nothing(tmp_path, isolated, fake_mnist, monkeypatch):
    source, sums = fake_mnist
    ds = datasets.DATASETS["mnist"]
    bad = dict(sums, test_images="0" * 64)
    monkeypatch.setitem(
        datasets.DATASETS, "mnist",
        datasets._Dataset(**{**ds.__dict__, "mirrors": (source.as_uri() + "/",), "sha256": bad}),
    )  # fmt: skip
    with pytest.raises(OSError, match="checksum mismatch"):
        load_mnist()
    cache = isolated / "cache" / "skmlp" / "mnist"
    names = sorted(p.name for p in cache.iterdir())
    assert "t10k-images-idx3-ubyte.gz" not in names
    assert not [n for n in names if n.endswith(".part")]


def test_corrupted_file_in_folder_is_named(tmp_path, isolated):
    folder = tmp_path / "broken"
    _fake_mnist(folder)
    target = folder / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(gzip.compress(gzip.decompress(target.read_bytes())[:-3]))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz: truncated"):
        load_mnist(folder)


def test_load_digits_form():
    data = load_digits()
    assert data.X_train.shape == (1257, 64) and data.X_test.shape == (540, 64)
    assert data.X_train.dtype == np.uint8 and data.X_train.max() == 16
    assert data.pixel_max == 16
    # stratified: every class in both parts, in the same proportions
    train_share = np.bincount(data.y_train) / len(data.y_train)
    test_share = np.bincount(data.y_test) / len(data.y_test)
    np.testing.assert_allclose(train_share, test_share, atol=0.01)
    assert load_digits().sha256 == data.sha256


def test_load_dataset_unknown_name():
    with pytest.raises(ValueError, match="Unknown dataset 'cifar'"):
        datasets.load_dataset("cifar")


MNIST_DIR = os.environ.get("SKMLP_MNIST_DIR")


@pytest.mark.skipif(not MNIST_DIR, reason="SKMLP_MNIST_DIR (a folder with real MNIST) not set")
def test_real_mnist_checksums_and_counts():
    data = load_mnist(MNIST_DIR, download=False)
    np.testing.assert_array_equal(
        np.bincount(data.y_train), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    )
    for part, path in data.files.items():
        digest = hashlib.sha256(datasets._read_bytes(Path(path))).hexdigest()
        assert digest == datasets.DATASETS["mnist"].sha256[part]


# ------------------------------------------------ hostile and stale files
def _gzip_stream(header: bytes, zeros: int) -> bytes:
    """gzip(header + zeros), made without holding the expanded bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts, chunk = [c.compress(header)], b"\0" * 2**22
    while zeros:
        parts.append(c.compress(chunk[: min(zeros, len(chunk))]))
        zeros -= min(zeros, len(chunk))
    return b"".join(parts) + c.flush()


def test_idx_header_is_checked_before_the_data_is_decompressed(tmp_path):
    huge = tmp_path / "huge-idx1-ubyte.gz"
    huge.write_bytes(_gzip_stream(b"\0\0\x08\x01" + (2**31 + 1).to_bytes(4, "big"), 1000))
    with pytest.raises(ValueError, match=r"huge-idx1-ubyte\.gz: the header declares .* over the"):
        read_idx(huge)
    # a small header followed by 64 MB: refused after reading one byte past the data
    long = tmp_path / "long-idx1-ubyte.gz"
    long.write_bytes(_gzip_stream(b"\0\0\x08\x01" + (10).to_bytes(4, "big"), 2**26))
    assert long.stat().st_size < 2**17
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="longer than its header says"):
            read_idx(long)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**23, f"{peak} bytes allocated to refuse a 10-byte IDX file"


def test_loader_refuses_a_wrong_header_before_reading_data(tmp_path, isolated):
    folder = tmp_path / "m"
    _fake_mnist(folder)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(
        _gzip_stream(b"\0\0\x08\x03" + b"".join(d.to_bytes(4, "big") for d in (60000, 28, 29)), 0)
    )
    with pytest.raises(
        ValueError, match=r"expected .* of shape \(60000, 28, 28\).*\(60000, 28, 29"
    ):
        load_mnist(folder)


def test_permission_denied_is_reported_as_such(tmp_path, monkeypatch):
    path = tmp_path / "x-idx1-ubyte"
    write_idx(path, np.arange(3, dtype=np.uint8))

    def denied(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(datasets, "open", denied, raising=False)
    with pytest.raises(PermissionError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and "Permission denied" in message and "damaged" not in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_reported_as_such(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    write_idx(path, np.arange(3, dtype=np.uint8))
    path.chmod(0)
    with pytest.raises(PermissionError, match="Permission denied"):
        read_idx(path)


def test_skmlp_data_pointing_at_a_file_is_explained(tmp_path, isolated, monkeypatch):
    target = tmp_path / "train-images-idx3-ubyte.gz"
    target.write_bytes(b"x")
    monkeypatch.setenv("SKMLP_DATA", str(target))
    with pytest.raises(NotADirectoryError, match=r"SKMLP_DATA=.* is a file, not a folder.*mnist/"):
        load_mnist()
    with pytest.raises(NotADirectoryError, match=r"data_dir .* is a file"):
        load_mnist(target)


def test_stale_cached_file_is_replaced(tmp_path, isolated, fake_mnist, monkeypatch):
    source, _ = fake_mnist
    cache = isolated / "cache" / "skmlp" / "mnist"
    cache.mkdir(parents=True)
    for f in source.iterdir():
        (cache / f.name).write_bytes(f.read_bytes())
    stale = cache / "t10k-labels-idx1-ubyte.gz"
    write_idx(stale, (np.arange(10000) % 7).astype(np.uint8))  # an older, different file
    ds = datasets.DATASETS["mnist"]
    monkeypatch.setitem(
        datasets.DATASETS, "mnist",
        datasets._Dataset(**{**ds.__dict__, "mirrors": (source.as_uri() + "/",)}),
    )  # fmt: skip
    data = load_mnist()
    assert data.y_test.max() == 9  # the fresh copy, not the stale one
    assert stale.read_bytes() == (source / stale.name).read_bytes()


def test_local_files_are_checked_against_the_known_sha256(tmp_path, isolated):
    folder = tmp_path / "edited"
    _fake_mnist(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", (np.arange(10000) % 7).astype(np.uint8))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz: not the official .*verify"):
        load_mnist(folder)
    assert load_mnist(folder, verify=False).y_test.max() == 6


# ------------------------------------------------------------------ OpenML
# An experiment's ``openml = "<name>"`` goes through scikit-learn's real
# fetch_openml: its OpenML API calls, ARFF parsing and cache. Only the network is
# replaced, as scikit-learn's own tests do it: urlopen serves scikit-learn's
# recorded OpenML responses for iris (its sklearn/datasets/tests/data/openml/id_61).
def _openml_responses():
    import sklearn.datasets

    folder = Path(sklearn.datasets.__file__).parent / "tests" / "data" / "openml" / "id_61"
    if not (folder / "data-v1-dl-61.arff.gz").is_file():
        pytest.skip("scikit-learn is installed without its OpenML test files")
    return folder


def _openml_file_name(url: str) -> str:
    """scikit-learn's name for the recorded response to ``url`` (as in its test_openml)."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path.lstrip("/")
    if path.startswith("data/v1/download/"):
        path, suffix = path.rsplit("/", 1)[0], ".arff"  # the file name is dropped
    else:
        suffix = ".json"
    name = re.sub(r"\W", "-", path) + suffix + ".gz"
    for long, short in [
        ("-json-data-list", "-jdl"), ("-json-data-features", "-jdf"),
        ("-json-data-qualities", "-jdq"), ("-json-data", "-jd"), ("-data_name", "-dn"),
        ("-download", "-dl"), ("-limit", "-l"), ("-data_version", "-dv"), ("-status", "-s"),
        ("-deactivated", "-dact"), ("-active", "-act"),
    ]:  # fmt: skip
        name = name.replace(long, short)
    return name


# OpenML has iris versions 1 and 3; the name alone takes version 1, and says so
@pytest.mark.filterwarnings("ignore:Multiple active versions of the dataset:UserWarning")
def test_openml_by_name_through_scikit_learns_fetch_openml(tmp_path, monkeypatch):
    from urllib.error import URLError
    from urllib.response import addinfourl

    import sklearn.datasets._openml as sk_openml
    from sklearn.datasets import load_iris

    from skmlp.experiment import ExperimentConfig
    from skmlp.experiment.data import load_data

    folder = _openml_responses()
    requested = []

    def urlopen(request, *args, **kwargs):
        url = request.get_full_url()
        assert url.startswith("https://www.openml.org/"), url
        requested.append(url)
        body = (folder / _openml_file_name(url)).read_bytes()  # gzipped, as OpenML sends it
        return addinfourl(io.BytesIO(body), {"Content-Encoding": "gzip"}, url, 200)

    monkeypatch.setattr(sk_openml, "urlopen", urlopen)
    # scikit-learn's default cache folder, here an empty one
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "scikit_learn_data"))

    def load():
        config = ExperimentConfig(data={"openml": "iris"}, dataset="own", random_state=0)
        return load_data(config)

    data = load()
    # the name was looked up, then its description, features and ARFF data fetched
    assert any("/data/list/data_name/iris/" in url for url in requested), requested
    assert any("/data/v1/download/61/" in url for url in requested), requested
    # parsed from the ARFF file: iris's 150 rows, 4 measurements and 3 named classes
    assert data.name == "openml-iris"
    X = np.concatenate([data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_test])
    assert X.shape == (150, 4) and X.dtype == np.float32
    assert sorted(set(y)) == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    assert sorted(np.unique(y, return_counts=True)[1]) == [50, 50, 50]
    # the features in OpenML's column order, with the values scikit-learn bundles
    np.testing.assert_allclose(X.mean(axis=0), load_iris().data.mean(axis=0), atol=0.01)

    # offline from now on: scikit-learn's cache, filled by the first call, serves it
    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(sk_openml, "urlopen", offline)
    assert list((tmp_path / "scikit_learn_data" / "openml").rglob("*.arff.gz"))
    again = load()
    np.testing.assert_array_equal(again.X_train, data.X_train)
    np.testing.assert_array_equal(again.y_test, data.y_test)
