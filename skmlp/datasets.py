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
or not, is recognised. Every file is checked against the known SHA-256 while it is
read (``verify=False`` accepts a modified copy); a cached file that fails the check,
or cannot be read, is downloaded again and replaced.

IDX files are read streamed: the header is checked first (shape, type, and a size
budget), then exactly the data it declares, so a small compressed file cannot make
the reader decompress gigabytes before it is refused.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
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
#: Largest IDX data read_idx accepts by default (bytes after decompression).
MAX_IDX_BYTES = 2**31

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
def _open_error(path: Path, exc: OSError) -> OSError:
    """The real cause of a failed open (permission, folder, missing), naming the file."""
    return type(exc)(f"{path}: cannot be read: {exc.strerror or exc}")


@contextlib.contextmanager
def _open_stream(path: Path):
    """The file's decompressed bytes as a stream; gzip is told from the first bytes."""
    try:
        raw = open(path, "rb")
    except OSError as exc:
        raise _open_error(path, exc) from None
    with raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        if not gz:
            yield raw, os.fstat(raw.fileno()).st_size
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as f:
            yield f, None


def _damaged(path: Path, exc: Exception) -> ValueError:
    return ValueError(f"{path}: cannot be decompressed ({exc}); the file is damaged.")


def _read_exactly(f, n: int, path: Path) -> bytes:
    data = bytearray()
    try:
        while len(data) < n:
            chunk = f.read(min(n - len(data), 2**22))
            if not chunk:
                break
            data += chunk
    except (EOFError, zlib.error, OSError) as exc:
        raise _damaged(path, exc) from None
    return data


def _read_bytes(path: Path) -> bytes:
    """The whole decompressed content (for checksums of small files)."""
    with _open_stream(path) as (f, _):
        try:
            return f.read()
        except (EOFError, zlib.error, OSError) as exc:
            raise _damaged(path, exc) from None


def _read_idx(path: Path, *, max_bytes=None, expected=None) -> tuple[np.ndarray, str]:
    """Read an IDX file streamed; return the array and the SHA-256 of its IDX bytes.

    ``expected`` is ``(shape, dtype, what)``: a header declaring anything else is
    refused before any data is read.
    """
    digest = hashlib.sha256()
    with _open_stream(path) as (f, file_size):
        head = _read_exactly(f, 4, path)
        if len(head) < 4:
            raise ValueError(f"{path}: {len(head)} bytes is too short to be an IDX file.")
        zero, code, ndim = struct.unpack(">HBB", head)
        if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
            raise ValueError(
                f"{path}: not an IDX file (magic number 0x{bytes(head).hex()}; expected "
                "0x0000 followed by a type code such as 0x08 and the number of dimensions)."
            )
        dims_raw = _read_exactly(f, 4 * ndim, path)
        if len(dims_raw) < 4 * ndim:
            raise ValueError(
                f"{path}: truncated IDX header ({4 + len(dims_raw)} of {4 + 4 * ndim} bytes)."
            )
        dims = struct.unpack(f">{ndim}I", dims_raw)
        dtype = _IDX_DTYPES[code]
        size = math.prod(dims) * dtype.itemsize
        if expected is not None:
            shape, want_dtype, what = expected
            if dims != shape or dtype != want_dtype:
                raise ValueError(
                    f"{path}: expected {what} of shape {shape} and dtype {want_dtype}, found "
                    f"shape {dims} and dtype {dtype.newbyteorder('=')}."
                )
        limit = MAX_IDX_BYTES if max_bytes is None else max_bytes
        if size > limit:
            raise ValueError(
                f"{path}: the header declares shape {dims}, {size} bytes of data, over the "
                f"limit of {limit} bytes (read_idx's max_bytes)."
            )
        header = 4 + 4 * ndim
        found = None if file_size is None else file_size - header
        data = _read_exactly(f, size, path) if found is None or found == size else b""
        if found is None:
            found = len(data) + len(_read_exactly(f, 1, path))  # one byte more is enough
        if found != size:
            state = "truncated" if found < size else "longer than its header says"
            more = "" if found < size else " at least"
            raise ValueError(
                f"{path}: {state}: header declares shape {dims} ({size} bytes of data) "
                f"but the file holds{more} {found} bytes."
            )
    digest.update(head)
    digest.update(dims_raw)
    digest.update(data)
    array = np.frombuffer(data, dtype=dtype).reshape(dims) if size else np.empty(dims, dtype)
    return array.astype(dtype.newbyteorder("="), copy=False), digest.hexdigest()


def read_idx(path: str | os.PathLike, *, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not.

    The file is read streamed: the header is checked first, then exactly the data
    it declares, so a damaged or hostile file is refused before it is decompressed.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip is detected from its first bytes, not its name.
    max_bytes : int or None, default=None
        Largest amount of data (after decompression) to accept; ``None`` is
        ``MAX_IDX_BYTES`` (2 GiB).

    Returns
    -------
    ndarray
        The array, in native byte order, of the shape the header declares.

    Raises
    ------
    ValueError
        If the magic number, type code or header is invalid, the declared data is
        over ``max_bytes``, or the data is shorter or longer than the header
        declares. The message names the file.
    OSError
        The file cannot be read (missing, permission denied, a folder); the message
        names the file and the cause.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skmlp.datasets import read_idx, write_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte")
    >>> write_idx(path, np.arange(5, dtype=np.uint8))
    >>> read_idx(path)
    array([0, 1, 2, 3, 4], dtype=uint8)
    """
    return _read_idx(Path(path), max_bytes=max_bytes)[0]


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
        if base.is_file():
            raise NotADirectoryError(
                f"data_dir {base} is a file: pass the folder that holds the four "
                f"{ds.title} IDX files (--data-dir)"
            )
        return [base, base / ds.name]
    dirs = []
    if os.environ.get(ENV_VAR):
        base = Path(os.environ[ENV_VAR]).expanduser()
        if base.is_file():
            raise NotADirectoryError(
                f"{ENV_VAR}={os.environ[ENV_VAR]} is a file, not a folder: set {ENV_VAR} to a "
                f"folder whose {ds.name}/ subfolder holds the four IDX files (or unset it)"
            )
        dirs.append(base / ds.name)
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
    digest = hashlib.sha256()
    try:
        with _open_stream(path) as (f, _):
            while chunk := f.read(2**22):
                digest.update(chunk)
    except (ValueError, OSError, EOFError, zlib.error):
        return False
    return digest.hexdigest() == expected


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


def _read_part(ds: _Dataset, part: str, path: Path, verify: bool) -> np.ndarray:
    split, kind = part.split("_")
    n = _SIZES[split]
    shape = (n, 28, 28) if kind == "images" else (n,)
    what = f"{ds.title} {split} {kind}"
    array, digest = _read_idx(path, expected=(shape, np.dtype(">u1"), what))
    if verify and digest != ds.sha256[part]:
        raise ValueError(
            f"{path}: not the official {what} file: its SHA-256 is {digest[:16]}..., "
            f"expected {ds.sha256[part][:16]}... (a modified or different copy; pass "
            "verify=False to use it anyway)"
        )
    if kind == "labels" and array.max() > 9:
        raise ValueError(f"{path}: labels must be 0-9, found {int(array.max())}.")
    return array


def _load_idx_dataset(name: str, data_dir, download: bool, timeout: float, verify=True) -> Bunch:
    ds = DATASETS[name]
    files = _locate(ds, data_dir, download, timeout)
    cache = data_home() / ds.name
    arrays = {}
    for part, path in files.items():
        try:
            arrays[part] = _read_part(ds, part, path, verify)
        except ValueError:
            # a stale or damaged file in skmlp's own cache is replaced, never kept
            if not (download and verify and path.parent == cache):
                raise
            try:
                files = _download(ds, cache, timeout)
            except OSError as exc:
                raise OSError(
                    f"{path}: the cached file is damaged or stale and downloading a fresh "
                    f"copy failed: {exc}"
                ) from exc
            arrays[part] = _read_part(ds, part, files[part], verify)
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
def load_mnist(
    data_dir=None, *, download: bool = True, timeout: float = 60.0, verify: bool = True
) -> Bunch:
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
    verify : bool, default=True
        Check every file against the official SHA-256 (a cached file that fails
        is downloaded again). ``False`` accepts a modified copy of the right shape.

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
        A file is damaged, truncated, not MNIST or not the official file; the
        message names it.
    """
    return _load_idx_dataset("mnist", data_dir, download, timeout, verify)


def load_fashion_mnist(
    data_dir=None, *, download: bool = True, timeout: float = 60.0, verify: bool = True
) -> Bunch:
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
    verify : bool, default=True
        Check every file against the official SHA-256, as in :func:`load_mnist`.

    Returns
    -------
    Bunch
        As :func:`load_mnist`, with clothing ``target_names``.
    """
    return _load_idx_dataset("fashion-mnist", data_dir, download, timeout, verify)


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
