"""Atomic file writes: a reader never sees a half-written file, even after a kill.

Temporary files are named ``.<name>.<pid>.<random>.skmlp-tmp.part`` in the
destination folder: the marker and the writer's process id let a later run remove
exactly the temporaries that a killed skmlp process left behind
(:func:`remove_stale_temporaries`), and never a file of the user's or of a process
still running. Finished files get the permissions the user's umask gives a new
file (``mkstemp`` alone would leave them readable by the owner only).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "pid_alive",
    "remove_stale_temporaries",
]

TEMP_MARK = ".skmlp-tmp.part"
_TEMP_NAME = re.compile(r"\..+\.(\d+)\.[^.]+" + re.escape(TEMP_MARK))


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic read-by-setting, restored at once
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)``, then rename the temporary file onto ``path``.

    The temporary file lives in the destination folder, so the rename is atomic
    on POSIX and Windows; it is removed if ``write`` fails or is interrupted. The
    file ends with the mode a new file gets under the user's umask.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_MARK
    )
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike, obj) -> Path:
    """Write an object as indented JSON atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def pid_alive(pid: int) -> bool:
    """Whether a process of this id runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:  # pragma: no cover - e.g. Windows without that process
        return False
    return True


def remove_stale_temporaries(folders) -> list[Path]:
    """Delete skmlp's own temporary files whose writing process has ended.

    Only names made by :func:`atomic_write` are considered, directly in each of
    ``folders`` (not below); a file of a process still alive, or any other file,
    is left alone.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    removed = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for tmp in folder.iterdir():
            match = _TEMP_NAME.fullmatch(tmp.name)
            if match and tmp.is_file() and not pid_alive(int(match.group(1))):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed
