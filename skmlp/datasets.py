"""Datasets: MNIST, Fashion-MNIST and scikit-learn's digits, in one form.

Every loader returns a :class:`sklearn.utils.Bunch` with the official train/test
split as ``uint8`` pixel rows ``(n, n_pixels)`` and integer labels:
``X_train, y_train, X_test, y_test``, plus ``pixel_max`` (the largest possible
pixel value, 255 or 16), ``image_shape``, ``target_names``, ``name`` and
``sha256`` (a checksum of the arrays, for run records).

Where MNIST and Fashion-MNIST are looked for, in order:

1. the ``data_dir`` argument: a folder holding the four IDX files (``.gz`` or
   not, ``train-images-idx3-ubyte`` or ``train-images.idx3-ubyte``), or holding
   a ``mnist/`` / ``fashion-mnist/`` folder that does;
2. ``$SKMLP_DATA/mnist`` or ``$SKMLP_DATA/fashion-mnist``;
3. the per-user cache, ``$XDG_CACHE_HOME/skmlp`` (default ``~/.cache/skmlp``);
4. for Fashion-MNIST, Debian's ``/usr/share/datasets/fashion-mnist``
   (``apt-get install dataset-fashion-mnist``);
5. otherwise the files are downloaded once into the cache (``download=True``),
   each checked against its SHA-256 and renamed into place only when complete.

Checksums are of the decompressed IDX bytes, so a file from any mirror, gzipped
or not, is recognised.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._io import atomic_write, atomic_write_bytes

__all__ = [
    "data_home",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "read_idx",
    "write_idx",
]

ENV_VAR = "SKMLP_DATA"

# IDX type codes (the third byte of the magic number) and their big-endian dtypes
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_DTYPE_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_DTYPES.items()}


@dataclass(frozen=True)
class _Dataset:
    name: str
    title: str
    mirrors: tuple[str, ...]
    sha256: dict[str, str]  # part -> SHA-256 of the decompressed IDX file
    target_names: tuple[str, ...]
    system_dirs: tuple[str, ...] = ()
    url: str = ""
    debian_package: str = ""


_PARTS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_SIZES = {"train": 60000, "test": 10000}

DATASETS = {
    "mnist": _Dataset(
        name="mnist",
        title="MNIST handwritten digits",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        sha256={
            "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        target_names=tuple(str(i) for i in range(10)),
        url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    "fashion-mnist": _Dataset(
        name="fashion-mnist",
        title="Fashion-MNIST (Zalando clothing images)",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        sha256={
            "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        target_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        url="https://github.com/zalandoresearch/fashion-mnist",
        debian_package="dataset-fashion-mnist",
    ),
}


# --------------------------------------------------------------------- IDX
def _open_maybe_gzip(path: Path):
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


def _read_bytes(path: Path) -> bytes:
    try:
        with _open_maybe_gzip(path) as f:
            return f.read()
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{path}: cannot be decompressed ({exc}); the file is damaged.") from exc


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip is detected from its first bytes, not its name.

    Returns
    -------
    ndarray
        The array, in native byte order, of the shape the header declares.

    Raises
    ------
    ValueError
        If the magic number, type code or header is invalid, or the data is
        shorter or longer than the header declares. The message names the file.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skmlp.datasets import read_idx, write_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte")
    >>> write_idx(path, np.arange(5, dtype=np.uint8))
    >>> read_idx(path)
    array([0, 1, 2, 3, 4], dtype=uint8)
    """
    path = Path(path)
    return _parse_idx(_read_bytes(path), path)


def _parse_idx(raw: bytes, path: Path) -> np.ndarray:
    if len(raw) < 4:
        raise ValueError(f"{path}: {len(raw)} bytes is too short to be an IDX file.")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"{path}: not an IDX file (magic number 0x{raw[:4].hex()}; expected 0x0000 "
            "followed by a type code such as 0x08 and the number of dimensions)."
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} of {header} bytes).")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found != expected:
        state = "truncated" if found < expected else "longer than its header says"
        raise ValueError(
            f"{path}: {state}: header declares shape {dims} ({expected} bytes of data) "
            f"but the file holds {found} bytes."
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> None:
    """Write an array as an IDX file.

    Parameters
    ----------
    path : str or path-like
        Destination; written atomically (a temporary file renamed into place).
    array : ndarray
        Array of dtype uint8, int8, int16, int32, float32 or float64.
    compress : bool or None, default=None
        Gzip the file; ``None`` compresses when the name ends in ``.gz``.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _DTYPE_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"IDX cannot store dtype {array.dtype}.")
    if compress is None:
        compress = path.suffix == ".gz"
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(_IDX_DTYPES[code], copy=False).tobytes()
    atomic_write_bytes(path, gzip.compress(payload) if compress else payload)


# ----------------------------------------------------------------- lookup
def data_home() -> Path:
    """Return the per-user cache folder where downloads are kept.

    ``$XDG_CACHE_HOME/skmlp``, by default ``~/.cache/skmlp``.

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "skmlp"


def _candidates(stem: str) -> list[str]:
    dotted = stem.replace("-idx", ".idx")
    return [f"{s}{ext}" for s in (stem, dotted) for ext in (".gz", "")]


def _find_files(folder: Path) -> dict[str, Path] | None:
    found = {}
    for part, stem in _PARTS.items():
        hit = next((folder / c for c in _candidates(stem) if (folder / c).is_file()), None)
        if hit is None:
            return None
        found[part] = hit
    return found


def _search_dirs(ds: _Dataset, data_dir) -> list[Path]:
    """The folders to look in, in lookup order."""
    if data_dir is not None:
        base = Path(data_dir).expanduser()
        return [base, base / ds.name]
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]).expanduser() / ds.name)
    dirs.append(data_home() / ds.name)
    dirs += [Path(d) for d in ds.system_dirs]
    return dirs


def _missing_message(ds: _Dataset, looked: list[Path], reason: str) -> str:
    """First line: what is missing and what to do; then the details."""
    cache = data_home() / ds.name
    apt = f", or apt-get install {ds.debian_package}" if ds.debian_package else ""
    first = (
        f"{ds.title} not found ({reason}): download its four IDX files from {ds.url} into "
        f"{cache}, or into any folder passed as data_dir (--data-dir), or set {ENV_VAR} to "
        f"a folder whose {ds.name}/ subfolder holds them{apt}."
    )
    names = ", ".join(f"{stem}.gz" for stem in _PARTS.values())
    where = "\n".join(f"  - {p}" for p in looked)
    return f"{first}\nFiles: {names} (or without .gz, or with .idx for -idx).\nLooked in:\n{where}"


def _download(ds: _Dataset, dest: Path, timeout: float) -> dict[str, Path]:
    """Download the four files into ``dest``; every file is verified, then renamed."""
    dest.mkdir(parents=True, exist_ok=True)
    paths = {}
    for part, stem in _PARTS.items():
        target = dest / f"{stem}.gz"
        if target.is_file() and _sha256_ok(target, ds.sha256[part]):
            paths[part] = target
            continue
        errors = []
        for mirror in ds.mirrors:
            url = mirror + f"{stem}.gz"

            def fetch(tmp, url=url, part=part):
                with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as out:
                    shutil.copyfileobj(r, out)
                if not _sha256_ok(Path(tmp), ds.sha256[part]):
                    raise ValueError(f"checksum mismatch for {url}")

            try:
                paths[part] = atomic_write(target, fetch)
                break
            except (OSError, ValueError) as exc:
                errors.append(f"{url}: {exc}")
        else:
            raise OSError("; ".join(errors))
    return paths


def _sha256_ok(path: Path, expected: str) -> bool:
    try:
        return hashlib.sha256(_read_bytes(path)).hexdigest() == expected
    except ValueError:
        return False


def _locate(ds: _Dataset, data_dir, download: bool, timeout: float) -> dict[str, Path]:
    looked = []
    for folder in _search_dirs(ds, data_dir):
        looked.append(folder)
        files = _find_files(folder)
        if files is not None:
            return files
    if data_dir is not None:
        raise FileNotFoundError(_missing_message(ds, looked, f"not in data_dir {data_dir}"))
    if not download:
        raise FileNotFoundError(_missing_message(ds, looked, "download=False"))
    try:
        return _download(ds, data_home() / ds.name, timeout)
    except OSError as exc:
        raise OSError(_missing_message(ds, looked, f"download failed: {exc}")) from exc


def _load_idx_dataset(name: str, data_dir, download: bool, timeout: float) -> Bunch:
    ds = DATASETS[name]
    files = _locate(ds, data_dir, download, timeout)
    arrays = {}
    for part, path in files.items():
        array = read_idx(path)
        split, kind = part.split("_")
        n = _SIZES[split]
        want = (n, 28, 28) if kind == "images" else (n,)
        if array.shape != want or array.dtype != np.uint8:
            raise ValueError(
                f"{path}: expected {ds.title} {split} {kind} of shape {want} and dtype uint8, "
                f"found shape {array.shape} and dtype {array.dtype}."
            )
        if kind == "labels" and array.max() > 9:
            raise ValueError(f"{path}: labels must be 0-9, found {int(array.max())}.")
        arrays[part] = array
    return _bunch(
        name=name,
        X_train=arrays["train_images"].reshape(-1, 784),
        y_train=arrays["train_labels"].astype(np.int64),
        X_test=arrays["test_images"].reshape(-1, 784),
        y_test=arrays["test_labels"].astype(np.int64),
        pixel_max=255,
        image_shape=(28, 28),
        target_names=list(ds.target_names),
        files={k: str(v) for k, v in files.items()},
        DESCR=f"{ds.title}: 60,000 training and 10,000 test images of 28x28 pixels.",
    )


def _bunch(**fields) -> Bunch:
    digest = hashlib.sha256()
    for key in ("X_train", "y_train", "X_test", "y_test"):
        digest.update(np.ascontiguousarray(fields[key]).tobytes())
    return Bunch(sha256=digest.hexdigest(), **fields)


# ----------------------------------------------------------------- loaders
def load_mnist(data_dir=None, *, download: bool = True, timeout: float = 60.0) -> Bunch:
    """Load MNIST's official split: 60,000 training and 10,000 test digits.

    Parameters
    ----------
    data_dir : str, path-like or None, default=None
        Folder holding the four IDX files (or a ``mnist/`` folder that does). When
        given, nothing else is searched and nothing is downloaded.
    download : bool, default=True
        Download into the cache when the files are found nowhere.
    timeout : float, default=60.0
        Seconds to wait on a download connection.

    Returns
    -------
    Bunch
        ``X_train`` (60000, 784) and ``X_test`` (10000, 784) uint8 pixels;
        ``y_train``, ``y_test`` int64 labels 0-9; ``pixel_max=255``;
        ``image_shape=(28, 28)``; ``target_names``; ``files``; ``sha256``.

    Raises
    ------
    FileNotFoundError
        ``data_dir`` lacks the files, or ``download=False`` and none are found.
    OSError
        The download failed; the message says what to download and where to put it.
    ValueError
        A file is damaged, truncated or not MNIST; the message names it.
    """
    return _load_idx_dataset("mnist", data_dir, download, timeout)


def load_fashion_mnist(data_dir=None, *, download: bool = True, timeout: float = 60.0) -> Bunch:
    """Load Fashion-MNIST's official split: 60,000 training and 10,000 test images.

    Same form and lookup as :func:`load_mnist`; Debian's
    ``/usr/share/datasets/fashion-mnist`` is searched after the cache.

    Parameters
    ----------
    data_dir : str, path-like or None, default=None
        Folder holding the four IDX files (or a ``fashion-mnist/`` folder that does).
    download : bool, default=True
        Download into the cache when the files are found nowhere.
    timeout : float, default=60.0
        Seconds to wait on a download connection.

    Returns
    -------
    Bunch
        As :func:`load_mnist`, with clothing ``target_names``.
    """
    return _load_idx_dataset("fashion-mnist", data_dir, download, timeout)


def load_digits(*, test_size: float = 0.3, random_state: int = 0) -> Bunch:
    """Load scikit-learn's bundled 8x8 digits in the form of :func:`load_mnist`.

    The digits ship with scikit-learn, so this works offline. They have no
    official split: a stratified one is made with ``test_size`` and
    ``random_state``.

    Parameters
    ----------
    test_size : float, default=0.3
        Fraction of the 1,797 images in the test set.
    random_state : int, default=0
        Seed of the stratified split.

    Returns
    -------
    Bunch
        ``X_train``, ``X_test`` uint8 pixels 0-16 of shape (n, 64); ``y_train``,
        ``y_test`` int64 labels; ``pixel_max=16``; ``image_shape=(8, 8)``.

    Examples
    --------
    >>> from skmlp.datasets import load_digits
    >>> data = load_digits()
    >>> data.X_train.shape, data.X_test.shape, data.pixel_max
    ((1257, 64), (540, 64), 16)
    """
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    digits = sk_load_digits()
    X = digits.data.astype(np.uint8)
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=random_state
    )
    return _bunch(
        name="digits",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        pixel_max=16,
        image_shape=(8, 8),
        target_names=[str(i) for i in range(10)],
        files={},
        DESCR="scikit-learn's 8x8 handwritten digits (1,797 images), split "
        f"{1 - test_size:.0%}/{test_size:.0%} stratified with random_state={random_state}.",
    )


_LOADERS = {"digits": None, "mnist": load_mnist, "fashion-mnist": load_fashion_mnist}


def load_dataset(name: str, data_dir=None, **kwargs) -> Bunch:
    """Load a dataset by name: ``"digits"``, ``"mnist"`` or ``"fashion-mnist"``.

    Parameters
    ----------
    name : str
        Dataset name.
    data_dir : str, path-like or None, default=None
        Passed to :func:`load_mnist` / :func:`load_fashion_mnist`; ignored for digits.
    **kwargs
        Other arguments of the loader.

    Returns
    -------
    Bunch
        The dataset.
    """
    if name not in _LOADERS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(_LOADERS)}.")
    if name == "digits":
        return load_digits()
    return _LOADERS[name](data_dir, **kwargs)
