"""An empty MLflow database kept beside JAX's compilation cache, copied into new local stores.

MLflow creates a SQLite store by running every one of its schema migrations, about
a second of CPU: on the README's main job (half a minute) that alone is a few
percent. The first local store of a given MLflow and SQLAlchemy version is
created by MLflow as usual and then copied, before any run is logged, to
``<cache>/skmlp/mlflow/empty-<mlflow>-<sqlalchemy>.db`` (the folder of
:func:`skmlp._backend.compilation_cache_dir`, mode 0700; nothing when that cache is
off). Later local stores start as a copy of it, so MLflow finds its schema up to date.

The copy is a file read back, so it is checked before use: a regular file opened
without following a link, at most :data:`MAX_TEMPLATE_BYTES`, starting with
SQLite's header; anything else is ignored (MLflow then creates the store itself).
MLflow checks the schema's version when it opens the store. The one row of a new
store that names a folder, the ``Default`` experiment's artifact location, is
set to this store's own artifact folder.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .._io import atomic_write_bytes
from .records import RecordError, read_bytes

#: Largest template read back (an empty MLflow 3 database is about 1 MB).
MAX_TEMPLATE_BYTES = 16 * 2**20
_HEADER = b"SQLite format 3\x00"


def template_path() -> Path | None:
    """Where the empty database of the installed MLflow is kept, or None (cache off)."""
    import mlflow
    import sqlalchemy

    from .._backend import compilation_cache_dir

    folder = compilation_cache_dir()
    if folder is None:
        return None
    return folder.parent / "mlflow" / f"empty-{mlflow.__version__}-{sqlalchemy.__version__}.db"


def _read(path: Path) -> bytes | None:
    """The template's bytes if it is a plain, bounded SQLite file; else None."""
    try:  # a regular file, no link followed, within the budget
        data = read_bytes(path, MAX_TEMPLATE_BYTES, "database template")
    except (OSError, RecordError):
        return None
    return data if data.startswith(_HEADER) else None


def start_from_template(db: Path, artifacts: Path) -> bool:
    """Create the new store ``db`` as a copy of the template; False when there is none."""
    path = template_path()
    data = None if path is None else _read(path)
    if data is None:
        return False
    atomic_write_bytes(db, data)
    try:
        with sqlite3.connect(db) as con:  # the one folder a new store names: its own
            con.execute(
                "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                ((artifacts / "0").as_uri(),),
            )
        con.close()
    except sqlite3.Error:  # not MLflow's schema: MLflow creates the store itself
        db.unlink()
        return False
    return True


def keep_as_template(db: Path) -> None:
    """Copy the store MLflow just created, empty, as the template (quietly, if possible)."""
    path = template_path()
    data = None if path is None else _read(db)
    if data is None:
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError:  # a read-only cache: every store is created by MLflow
        pass
