"""Pickle-free model files (``.skmlp``): :func:`save`, :func:`load`, :func:`load_pickle`.

The implementation and the description of the format are in ``_files``.
"""

from ._files import (
    FORMAT_VERSION,
    ModelFileError,
    file_format,
    library_versions,
    load,
    load_pickle,
    save,
)

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "file_format",
    "library_versions",
    "load",
    "load_pickle",
    "save",
]
