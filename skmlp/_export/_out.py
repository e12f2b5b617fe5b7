"""Where an export writes: never through a link, never over a file without ``force``."""

from __future__ import annotations

import os
from pathlib import Path

from ._network import ExportError

__all__ = ["check_out"]


def check_out(out, force: bool, folder: bool = False) -> Path:
    """Refuse a link, an existing ``out`` without ``force``, and a file of the wrong kind."""
    out = Path(out)
    if os.path.islink(out):
        raise ExportError(f"{out}: a symbolic link; export writes nothing through a link "
                          "(remove it, or choose another name)")  # fmt: skip
    if not out.exists():
        return out
    if not force:
        raise ExportError(f"{out} exists; pass --force (force=True) to replace it")
    if folder and not (out.is_dir() and (out / "saved_model.pb").is_file()):
        raise ExportError(f"{out} exists and is not a SavedModel folder; refusing to replace it")
    if not folder and out.is_dir():
        raise ExportError(f"{out} is a folder; name the .onnx file to write")
    return out
