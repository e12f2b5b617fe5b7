"""Files of a run: the output folder, its lock, JSON records, checksums, versions."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

try:  # POSIX: the kernel releases the run lock when its holder dies
    import fcntl
except ImportError:  # pragma: no cover - Windows: the lock file's pid is checked instead
    fcntl = None

import numpy as np
import pandas as pd

from .._io import atomic_write, atomic_write_json, atomic_write_text, pid_alive
from .records import read_record, refuse_link

__all__ = ["check_output_dir", "default_output_dir"]


def versions() -> dict:
    import keras

    from .._persistence import library_versions

    out = library_versions() | {"pandas": pd.__version__, "python": platform.python_version()}
    try:
        from importlib.metadata import version

        out["scikeras"] = version("scikeras")
        out[keras.backend.backend()] = version(
            {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[keras.backend.backend()]
        )
    except Exception:  # a missing distribution only thins the record
        pass
    return out


def default_output_dir(dataset: str) -> Path:
    """The output folder used when none is given: ``skmlp_results/<dataset>``.

    One folder per dataset, so that runs on different datasets never collide.

    Parameters
    ----------
    dataset : str
        The dataset's name.

    Returns
    -------
    pathlib.Path
        A path relative to the current folder.
    """
    return Path("skmlp_results") / dataset


def read_json(path: Path):
    """Read a JSON record of a results folder: no link, a byte budget, one-line errors."""
    return read_record(path)


@contextmanager
def writing(path):
    """Write ``path`` of a results folder: a link there is refused, and a failed write
    (full disk, quota, read-only or forbidden folder) is one line naming the file.

    skmlp writes every file through a temporary file and a rename
    (:func:`~skmlp._io.atomic_write`), so a failed write leaves what was saved before
    unchanged.
    """
    refuse_link(path)
    try:
        yield Path(path)
    except OSError as exc:
        if exc.errno is None:  # one of skmlp's own one-line errors
            raise
        raise OSError(
            f"{path}: cannot be written ({exc.strerror or exc}); the files saved before are "
            "unchanged"
        ) from None


def write_json(path, obj) -> None:
    """:func:`~skmlp._io.atomic_write_json` in a results folder (see :func:`writing`)."""
    with writing(path):
        atomic_write_json(path, obj)


def write_text(path, text: str) -> None:
    """:func:`~skmlp._io.atomic_write_text` in a results folder (see :func:`writing`)."""
    with writing(path):
        atomic_write_text(path, text)


def write_with(path, write) -> None:
    """:func:`~skmlp._io.atomic_write` in a results folder (see :func:`writing`)."""
    with writing(path):
        atomic_write(path, write)


def sha256_file(path: Path) -> str | None:
    if not Path(path).is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_arrays(*arrays) -> str:
    """Checksum arrays by shape, dtype and values.

    Object arrays (string labels) are hashed by the ``repr`` of their values:
    their raw bytes are pointers, which differ from one process to the next.
    """
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(str((a.shape, a.dtype.str)).encode())
        digest.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return digest.hexdigest()


#: ``open`` flag that refuses a symbolic link as the last component (0 where absent).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class OutputLock:
    """One run per output folder: an exclusive lock on ``.skmlp-run.lock`` naming its holder.

    On POSIX the lock is ``flock``: the kernel releases it when its holder exits,
    even when killed, so a lock file still naming a holder when the lock is free
    was left by a killed run. Elsewhere the holder's pid is checked.
    """

    NAME = ".skmlp-run.lock"

    def __init__(self, out: Path, command: str | None, log):
        self.path, self.command, self.log, self.fd = Path(out) / self.NAME, command, log, None

    def _holder(self, fd) -> dict:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 65536)
        try:
            holder = json.loads(raw) if raw.strip() else {}
        except ValueError:
            holder = {"pid": "?", "host": "?"}
        return holder if isinstance(holder, dict) else {}

    def _busy(self, holder: dict) -> OSError:
        return OSError(
            f"{self.path.parent} is in use by another skmlp run (pid {holder.get('pid', '?')} "
            f"on {holder.get('host', '?')}, started {holder.get('started', '?')}); wait for it "
            f"to finish or choose another --out (lock: {self.path})"
        )

    def __enter__(self):
        try:
            # a link in a shared results folder must not make skmlp truncate its target
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP or self.path.is_symlink():
                raise OSError(
                    f"{self.path}: the lock file is a symbolic link; skmlp does not follow "
                    "links in a results folder (remove it, or choose another --out)"
                ) from None
            raise
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise self._busy(self._holder(fd)) from None
            holder = self._holder(fd)
            if holder:
                pid, here = holder.get("pid"), holder.get("host") == socket.gethostname()
                if fcntl is None and (not here or (isinstance(pid, int) and pid_alive(pid))):
                    raise self._busy(holder)
                self.log(
                    f"{self.path.parent}: taking over the lock of a run that is no longer "
                    f"running (pid {pid} on {holder.get('host')})"
                )
            me = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": self.command or " ".join(sys.argv),
            }
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(me).encode())
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def __exit__(self, *exc):
        os.ftruncate(self.fd, 0)  # released cleanly: an empty lock file names no one
        os.close(self.fd)  # and closing releases the flock


def check_output_dir(out: str | Path) -> Path:
    """Create ``out`` if needed and check it is writable; raise ``OSError`` if not.

    Parameters
    ----------
    out : str or path
        The output folder.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output folder {out} is a file, not a folder; name a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / ".write-test", "ok")
        (out / ".write-test").unlink()
    except OSError as exc:
        raise OSError(f"output folder {out} is not writable: {exc.strerror or exc}") from None
    return out
