"""The experiment's data: built-in datasets, your own files, scikit-learn's and OpenML's.

:func:`load_data` returns every source in the form of :mod:`skmlp.datasets`: a
:class:`~sklearn.utils.Bunch` with ``X_train, y_train, X_test, y_test``,
``sha256`` (of the arrays), ``files`` and ``pixel_max`` (``None`` for data that
are not images). Sources, by the key that names them in a config's ``[data]``:

``dataset``
    ``"digits"``, ``"mnist"``, ``"fashion-mnist"`` (:func:`skmlp.datasets.load_dataset`).
``path``
    A CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``; needs
    ``pyarrow``) file with a ``target`` column; every other column is a
    feature. Numbers without blanks are read as a float array; a table with
    text, categories, booleans or blanks (or ``[preprocessing] scaler =
    "tabular"``) stays a DataFrame, for :class:`skmlp.TabularEncoder`
    (:mod:`.tabular`); other scalers refuse those columns, naming them. Rows
    without a target are refused by number, or dropped (``drop_missing_target``).
    A ``test_path`` file of the same columns is the test set; without one, a
    ``test_size`` split (default 0.2; stratified for classes) is made once and
    recorded in the output folder (``test_split.json``), and reused from there.
``npz``
    A NumPy ``.npz`` with ``X_train, y_train, X_test, y_test``, or ``X, y``
    (then split as above).

Files are read by :mod:`skmlp._features`, under the rules ``skmlp predict``
follows too (size budgets, no pickle, every feature a finite number, a CSV's
rows all as wide as its header, pandas' index column dropped); this module
adds what training needs: the target column and the train/test layout.
``sklearn``
    One of scikit-learn's bundled datasets (``iris``, ``wine``,
    ``breast_cancer``, ``digits``) or one it has cached (``covtype``,
    ``olivetti_faces``), never downloaded here.
``openml``
    An OpenML dataset by name (``version`` optional), through
    :func:`sklearn.datasets.fetch_openml`; offline, scikit-learn's cache serves it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .._features import (
    FeatureFileError,
    check_feature_columns,
    check_label,
    read_arrays,
    read_table,
)
from .._tabular import TabularError
from ._files import sha256_arrays, sha256_file, write_json
from .config import ConfigError
from .records import RecordError, check_split_record
from .tabular import rows_with_target, use_encoder
from .tasks import infer_task

__all__ = ["load_data"]

_SKLEARN_BUNDLED = ("iris", "wine", "breast_cancer", "digits")
_SKLEARN_CACHED = ("covtype", "olivetti_faces")
_DEFAULT_TEST_SIZE = 0.2


# ------------------------------------------------------------------ tables
def _split_table(frame: pd.DataFrame, target: str, path: Path, columns=None, spec=None,
                 log=print):  # fmt: skip
    """Features and target of a table, every column checked.

    ``spec`` (``scaler``, ``drop_missing_target``; ``None``: numbers only) says how
    features are read; the features are a float32 array, or a DataFrame for the
    table encoder.
    """
    spec = spec or {}
    check_label(frame.columns, target, path)
    frame = rows_with_target(frame, target, path, spec.get("drop", False), log)
    y = frame[target]
    _check_target(y, target, path)
    features = frame.drop(columns=[target])
    if columns is not None and list(features.columns) != list(columns):
        missing = [c for c in columns if c not in features.columns]
        extra = [c for c in features.columns if c not in columns]
        raise ConfigError(
            f"{path}: its feature columns differ from the training file's"
            + (f"; missing: {', '.join(map(str, missing))}" if missing else "")
            + (f"; not in the training file: {', '.join(map(str, extra))}" if extra else "")
            + ("; same columns in another order" if not missing and not extra else "")
        )
    if features.shape[1] == 0:
        raise ConfigError(f"{path}: no feature columns besides the target {target!r}")
    if spec.get("tabular") or use_encoder(features, spec.get("scaler", "standard")):
        features.columns = [str(c) for c in features.columns]
        return features.reset_index(drop=True), y.to_numpy(), list(features.columns)
    check_feature_columns(features, path)
    return features.to_numpy(dtype=np.float32), y.to_numpy(), list(features.columns)


#: What a target column may hold besides numbers (pandas' ``infer_dtype``): labels.
_LABEL_KINDS = {"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"}


def _check_target(y: pd.Series, target: str, path) -> None:
    """Numbers or labels of one kind (text, integers): not dates, durations, bytes, mixed."""
    values = y.cat.categories if isinstance(y.dtype, pd.CategoricalDtype) else y
    if values.dtype.kind in "iufb":
        return
    kind = pd.api.types.infer_dtype(values, skipna=True) if values.dtype.kind == "O" else None
    if kind not in _LABEL_KINDS:
        raise ConfigError(
            f"{path}: the target column {target!r} holds {kind or values.dtype} values; a "
            "target is numbers or labels of one kind (text or integers), not dates, "
            "durations, complex numbers, bytes or a mix"
        )


def _check_test_file(path: Path, test_path: Path) -> None:
    """The test file is another file than the training file, with other contents."""
    try:
        same = os.path.samefile(path, test_path)
    except OSError:  # one is missing: the reader names it
        return
    if same or sha256_file(path) == sha256_file(test_path):
        raise ConfigError(
            f"[data] test_path = {test_path} is the training file {path}"
            + ("" if same else " (the same bytes)")
            + ": a test set must hold other rows; name another file, or leave test_path out "
            "for a test split"
        )


# --------------------------------------------------------------------- npz
def _read_npz(path: Path) -> dict:
    """The arrays of a training ``.npz`` (features checked by the reader), their layout checked."""
    out = read_arrays(path)
    pairs = {"X", "y"} if "X" in out or "y" in out else {"X_train", "y_train"}
    wanted = pairs | ({"X_test", "y_test"} & set(out))
    if not pairs <= set(out) or set(out) != wanted or ("X_test" in out) != ("y_test" in out):
        raise ConfigError(
            f"{path}: holds {', '.join(sorted(out)) or 'nothing'}; it needs X_train, y_train, "
            "X_test, y_test, or X_train, y_train, or X, y"
        )
    for xk, yk in (("X", "y"), ("X_train", "y_train"), ("X_test", "y_test")):
        if xk not in out:
            continue
        X, y = out[xk], out[yk]
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
            raise ConfigError(
                f"{path}: {xk} must be 2-D and {yk} 1-D of as many rows; got {X.shape} and "
                f"{y.shape}"
            )
    if "X_test" in out and out["X_test"].shape[1] != out.get("X_train", out.get("X")).shape[1]:
        raise ConfigError(f"{path}: X_test has another number of columns than X_train")
    return out


# ----------------------------------------------------- the recorded split
def _split_once(X, y, source_sha: str, test_size, seed: int, out: Path | None, name: str,
                stratify: bool = True):  # fmt: skip
    """A test split (stratified by class), made once and recorded in ``out/test_split.json``.

    A recorded split is checked before it is used: of these data and this
    ``test_size``, and exactly the split of the seed it records
    (:func:`~skmlp.experiment.records.check_split_record`).
    """
    from sklearn.model_selection import train_test_split

    def split(random_state: int) -> np.ndarray:
        try:
            _, test = train_test_split(
                np.arange(len(y)),
                test_size=test_size,
                stratify=y if stratify else None,
                random_state=random_state,
            )
        except ValueError as exc:
            what = "a stratified" if stratify else "a"
            reason = str(exc)[:300] + ("..." if len(str(exc)) > 300 else "")
            raise ConfigError(f"{name}: cannot make {what} test split: {reason}") from None
        return np.sort(test)

    record_path = out / "test_split.json" if out is not None else None
    if record_path is not None and os.path.lexists(record_path):
        try:
            test = check_split_record(record_path, len(y), source_sha, test_size, name, split)
        except RecordError as exc:  # load_data raises ConfigError for what it refuses
            raise ConfigError(str(exc)) from None
    else:
        test = split(seed)
        if record_path is not None:
            write_json(
                record_path,
                {
                    "source_sha256": source_sha,
                    "test_size": test_size,
                    "random_state": seed,
                    "n_rows": len(y),
                    "test_rows": test.tolist(),
                },
            )
    train = np.setdiff1d(np.arange(len(y)), test)
    rows = X.iloc if isinstance(X, pd.DataFrame) else X
    return rows[train], y[train], rows[test], y[test]


def _own_bunch(name, X_train, y_train, X_test, y_test, files, sha=None, **extra) -> Bunch:
    if isinstance(X_train, pd.DataFrame):
        X_train, X_test = X_train.reset_index(drop=True), X_test.reset_index(drop=True)
    extra.setdefault("task", "classification")
    return Bunch(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        pixel_max=None,
        files=files,
        sha256=sha or sha256_arrays(X_train, y_train, X_test, y_test),
        **extra,
    )


def load_data(config, data_dir=None, out: Path | None = None, log=print) -> Bunch:
    """Load the data a config names, checked, with its train/test split.

    Parameters
    ----------
    config : ExperimentConfig
        ``config.data`` names your own data; ``None`` means the built-in
        ``config.dataset``.
    data_dir : str, path or None, default=None
        Folder of the IDX files of the built-in datasets.
    out : path or None, default=None
        The output folder, where a split made here is recorded and found again.
    log : callable, default=print
        Told what was inferred or dropped (the task, rows without a target).

    Returns
    -------
    Bunch
        ``X_train, y_train, X_test, y_test`` (the ``X`` a DataFrame for the
        table encoder), ``sha256``, ``files``, ``pixel_max``, ``task``
        (``"classification"`` or ``"regression"``) and ``task_note`` (why).

    Raises
    ------
    ConfigError
        A missing file or column, a non-numeric or incomplete feature column
        (named), an array of the wrong shape, or data too large for memory.
    """
    try:
        return _load(config, data_dir, out, log)
    except (FeatureFileError, TabularError) as exc:  # a file breaking a rule
        raise ConfigError(str(exc)) from None


def _load(config, data_dir, out: Path | None, log) -> Bunch:
    spec = config.data
    if spec is None:
        from ..datasets import load_dataset

        data = load_dataset(config.dataset, data_dir)
        data.task, data.task_note = infer_task(data.y_train, config.task)
        return data
    seed, test_size = config.random_state, spec.get("test_size", _DEFAULT_TEST_SIZE)
    if "test_path" in spec and "test_size" in spec:
        raise ConfigError("[data] names both test_path and test_size; name one")
    if "test_path" in spec and "path" not in spec:
        raise ConfigError("[data] test_path goes with path (a CSV or Parquet training file)")
    if "target" in spec and "path" not in spec:
        raise ConfigError("[data] target names a column of a path (CSV or Parquet) file")
    if not (isinstance(test_size, int) and test_size >= 2) and not 0 < test_size < 1:
        raise ConfigError(
            f"[data] test_size must be a fraction in (0, 1) or rows >= 2, got {test_size}"
        )
    if "path" in spec:
        return _load_table(config, spec, out, log)
    if "npz" in spec:
        path = Path(spec["npz"])
        arrays = _read_npz(path)
        sha = sha256_file(path)
        task, note = infer_task(arrays.get("y", arrays.get("y_train")), config.task)
        if "X_test" in arrays:
            if "test_size" in spec:
                raise ConfigError(f"{path} holds a test set; test_size has nothing to split")
            return _own_bunch(
                path.stem,
                arrays["X_train"],
                arrays["y_train"],
                arrays["X_test"],
                arrays["y_test"],
                {"npz": str(path)},
                sha,
                task=task,
                task_note=note,
            )
        X, y = arrays.get("X", arrays.get("X_train")), arrays.get("y", arrays.get("y_train"))
        parts = _split_once(X, y, sha, test_size, seed, out, str(path), task == "classification")
        return _own_bunch(path.stem, *parts, {"npz": str(path)}, sha, task=task, task_note=note)
    if "sklearn" in spec:
        X, y, name = _sklearn_dataset(spec["sklearn"])
    else:
        X, y, name = _openml_dataset(spec["openml"], spec.get("version"))
    sha = sha256_arrays(X, y)
    task, note = infer_task(y, config.task)
    parts = _split_once(X, y, sha, test_size, seed, out, name, task == "classification")
    return _own_bunch(name, *parts, {}, sha, task=task, task_note=note)


def _load_table(config, spec: dict, out: Path | None, log) -> Bunch:
    """A CSV or Parquet training table (and test table), split into features and target."""
    path, target = Path(spec["path"]), spec.get("target")
    if target is None:
        raise ConfigError(f"[data] path = {path}: name its target column (target = ...)")
    if "test_path" in spec:
        _check_test_file(path, Path(spec["test_path"]))
    scaler = config.preprocessing
    how = {"scaler": scaler, "drop": spec.get("drop_missing_target", False)}
    numeric = scaler not in ("auto", "tabular")
    X, y, columns = _split_table(read_table(path, target, numeric=numeric), target, path,
                                 spec=how, log=log)  # fmt: skip
    try:
        task, note = infer_task(y, config.task, target)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    files, sha = {"train": str(path)}, sha256_file(path)
    extra = {"feature_names": columns, "task": task, "task_note": note}
    if "test_path" in spec:
        test_path = Path(spec["test_path"])
        how["tabular"] = isinstance(X, pd.DataFrame)
        X_test, y_test, _ = _split_table(read_table(test_path, target, numeric=numeric), target,
                                         test_path, columns=columns, spec=how, log=log)  # fmt: skip
        files["test"] = str(test_path)
        sha = hashlib.sha256((sha + sha256_file(test_path)).encode()).hexdigest()
        return _own_bunch(path.stem, X, y, X_test, y_test, files, sha, **extra)
    test_size = spec.get("test_size", _DEFAULT_TEST_SIZE)
    parts = _split_once(X, y, sha, test_size, config.random_state, out, str(path),
                        task == "classification")  # fmt: skip
    return _own_bunch(path.stem, *parts, files, sha, **extra)


def _sklearn_dataset(name: str):
    import sklearn.datasets as skd

    if name in _SKLEARN_BUNDLED:
        X, y = getattr(skd, f"load_{name}")(return_X_y=True)
    elif name in _SKLEARN_CACHED:
        try:
            X, y = getattr(skd, f"fetch_{name}")(download_if_missing=False, return_X_y=True)
        except OSError:
            raise ConfigError(
                f"scikit-learn's {name} is not in its cache ({skd.get_data_home()}); fetch it "
                f"once online with sklearn.datasets.fetch_{name}()"
            ) from None
    else:
        raise ConfigError(
            f"unknown scikit-learn dataset {name!r}; choose one of "
            f"{', '.join(_SKLEARN_BUNDLED + _SKLEARN_CACHED)}"
        )
    return np.asarray(X, dtype=np.float32), np.asarray(y), f"sklearn-{name}"


def _openml_dataset(name: str, version):
    from sklearn.datasets import fetch_openml

    try:
        bunch = fetch_openml(name=name, version=version or "active", as_frame=True, parser="auto")
    except Exception as exc:  # offline and not cached: URLError; unknown name: ValueError
        raise ConfigError(
            f"OpenML dataset {name!r} could not be loaded ({type(exc).__name__}: {exc}); "
            "offline, it must be in scikit-learn's cache (fetch it once online)"
        ) from None
    frame = bunch.frame
    target = bunch.target_names[0] if bunch.target_names else None
    if target is None:
        raise ConfigError(f"OpenML dataset {name!r} has no default target")
    X, y, _ = _split_table(frame, target, Path(f"openml:{name}"))
    return X, y, f"openml-{name}"
