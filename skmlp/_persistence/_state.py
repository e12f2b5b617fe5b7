"""Fitted-state schemas: which attributes each class may store, of which types.

An skmlp estimator declares the attributes it stores in its ``_STATE_KEYS``;
:data:`STATE_CHECKS` says what each one's value must be, and :data:`STATE_SCHEMAS`
which ones a file must hold (and the transformers' attributes).
:func:`_check_state` refuses unknown or missing attributes, values of the wrong
type, and state inconsistent with itself or with the network loaded beside it.
"""

from __future__ import annotations

import numpy as np

from ._limits import ModelFileError


# What each class's stored state may hold: key -> check, and the keys it must hold.
# A check returns None when the value is acceptable, else what it should be.
def _is_int(v, low=0):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= low


def _is_float(v):
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


def _check_count(v):
    return None if _is_int(v, 1) else "a positive integer"


def _check_nonneg(v):
    return None if _is_int(v, 0) else "a non-negative integer"


def _check_opt_float(v):
    return None if v is None or _is_float(v) else "a number or None"


def _check_widths(v):
    ok = isinstance(v, tuple) and all(_is_int(w, 1) for w in v)
    return None if ok else "a tuple of positive integers"


def _check_history(v):
    ok = isinstance(v, dict) and all(
        isinstance(k, str) and isinstance(lst, list) and all(_is_float(x) for x in lst)
        for k, lst in v.items()
    )
    return None if ok and "loss" in v else "a dict of lists of numbers, with 'loss'"


def _check_labels(v):
    ok = isinstance(v, np.ndarray) and v.ndim == 1 and len(v) >= 1
    return None if ok else "a 1-d array"


def _check_names(v):
    ok = isinstance(v, np.ndarray) and v.ndim == 1 and all(isinstance(x, str) for x in v)
    return None if ok else "a 1-d array of strings"


def _check_float_vector(v):
    ok = v is None or (isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "biuf")
    return None if ok else "a 1-d numeric array or None"


def _check_samples_seen(v):
    ok = _is_float(v) or (isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "iuf")
    return None if ok else "a number or a 1-d numeric array"


def _check_short_str(v):
    return None if isinstance(v, str) and len(v) <= 64 else "a short string"


def _check_float_name(v):
    return None if v in ("float32", "float64") else '"float32" or "float64"'


def _check_opt_number(v):
    return None if v is None or _is_float(v) else "a number or None"


_COMMON_STATE = {"n_features_in_": _check_count, "feature_names_in_": _check_names}
_SCALER_VECTORS = {"StandardScaler": ("mean_", "var_", "scale_"),
                   "MinMaxScaler": ("min_", "scale_", "data_min_", "data_max_", "data_range_"),
                   "PixelScaler": ()}  # fmt: skip
#: The check of every attribute an skmlp estimator may declare in its ``_STATE_KEYS``
#: (the fitted state its ``_get_state`` stores). The estimators declare which keys
#: they store; this table only says what each key's value must be.
STATE_CHECKS = {
    "n_features_in_": _check_count, "n_outputs_": _check_count,
    "out_activation_": _check_short_str, "n_iter_": _check_nonneg, "t_": _check_nonneg,
    "loss_": _check_opt_number, "history_": _check_history, "best_loss_": _check_opt_float,
    "best_validation_score_": _check_opt_float, "_hidden": _check_widths,
    "_l2": _check_opt_number, "_no_improvement_count": _check_nonneg,
    "_input_dtype": _check_float_name, "_network_dtype": _check_float_name,
    "classes_": _check_labels, "n_classes_": _check_count, "_y_type": _check_short_str,
}  # fmt: skip
# State that files from earlier skmlp versions hold and no estimator stores now: still
# accepted, checked and set on the loaded estimator, so that those files load as before.
_LEGACY_STATE = {"_fit_batch_size": _check_count}


def _state_keys(cls) -> dict:
    """Key -> check of every attribute a stored ``cls`` may hold.

    An skmlp estimator's keys are the ones it declares in ``_STATE_KEYS``, and
    scikit-learn's input attributes; a transformer's are in :data:`STATE_SCHEMAS`.
    """
    declared = getattr(cls, "_STATE_KEYS", None)
    if declared is None:
        return STATE_SCHEMAS[cls.__name__]["keys"]
    return _COMMON_STATE | {key: STATE_CHECKS[key] for key in declared} | _LEGACY_STATE


def _classifier_outputs(state: dict, where: str) -> int:
    """Output units a classifier's state implies, after checking its labels."""
    classes = state["classes_"]
    if len(np.unique(classes)) != len(classes):
        raise ModelFileError(f"{where}: classes_ repeats a label")
    if int(state["n_classes_"]) != len(classes):
        raise ModelFileError(f"{where}: n_classes_ does not match classes_")
    n_outputs = int(state.get("n_outputs_", len(classes)))
    binary = state.get("_y_type") == "binary" and len(classes) == 2 and n_outputs in (1, 2)
    if n_outputs != len(classes) and not binary:
        raise ModelFileError(f"{where}: {len(classes)} classes but n_outputs_ is {n_outputs}")
    return n_outputs


def _check_real_vector(v):
    ok = isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "iuf"
    return None if ok and np.isfinite(v).all() else "a 1-d array of finite numbers"


def _check_counts(v):
    ok = isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "iu" and (v >= 1).all()
    return None if ok else "a 1-d array of positive integers"


def _check_width(v):
    from .._tabular import MAX_WIDTH

    return None if _is_int(v, 1) and v <= MAX_WIDTH else f"an integer from 1 to {MAX_WIDTH}"


_TABULAR_KEYS = {
    **_COMMON_STATE,
    "numeric_columns_": _check_names, "categorical_columns_": _check_names,
    "indicator_columns_": _check_names, "medians_": _check_real_vector,
    "means_": _check_real_vector, "scales_": _check_real_vector, "categories_": _check_names,
    "category_counts_": _check_counts, "n_features_out_": _check_width,
}  # fmt: skip


def _tabular_consistent(state: dict, where: str) -> None:
    """A TabularEncoder's columns, statistics and categories agree with each other."""
    names = list(state["feature_names_in_"])
    numeric, categorical = list(state["numeric_columns_"]), list(state["categorical_columns_"])
    if len(set(names)) != len(names) or sorted(numeric + categorical) != sorted(names):
        raise ModelFileError(f"{where}: the numeric and categorical columns are not the "
                             "feature names, each once")  # fmt: skip
    if not set(state["indicator_columns_"]) <= set(numeric):
        raise ModelFileError(f"{where}: a missing-indicator column is not a numeric column")
    for key in ("medians_", "means_", "scales_"):
        if len(state[key]) != len(numeric):
            raise ModelFileError(f"{where}: {key} has {len(state[key])} entries for "
                                 f"{len(numeric)} numeric columns")  # fmt: skip
    if (state["scales_"] <= 0).any():
        raise ModelFileError(f"{where}: a scale is not positive")
    counts, categories = state["category_counts_"], state["categories_"]
    if len(counts) != len(categorical) or int(counts.sum()) != len(categories):
        raise ModelFileError(f"{where}: category_counts_ does not match the categorical "
                             "columns and categories_")  # fmt: skip
    width = len(numeric) + len(state["indicator_columns_"]) + len(categories)
    if width != state["n_features_out_"]:
        raise ModelFileError(f"{where}: n_features_out_ is {state['n_features_out_']}, its "
                             f"columns make {width}")  # fmt: skip


#: class name -> {"required": the keys a file must hold, "outputs": function of the
#: state giving the network's output width, after checking the state's own consistency}
#: for the estimators (whose keys are their ``_STATE_KEYS``, see :func:`_state_keys`);
#: {"keys": {key: check}, "required": set} for the transformers. An estimator added to
#: the format adds one entry here (and one in ``_classes``).
STATE_SCHEMAS = {
    "MLPClassifier": {
        "required": {"n_features_in_", "n_classes_", "n_iter_", "history_", "_hidden",
                     "classes_"},
        "outputs": _classifier_outputs,
    },
    "MLPRegressor": {
        "required": {"n_features_in_", "n_outputs_", "n_iter_", "history_", "_hidden"},
        "outputs": lambda state, where: int(state["n_outputs_"]),
    },
    **{
        name: {
            "keys": _COMMON_STATE
            | dict.fromkeys(vectors, _check_float_vector)
            | ({"n_samples_seen_": _check_samples_seen} if vectors else {}),
            "required": {"n_features_in_"},
        }
        for name, vectors in _SCALER_VECTORS.items()
    },
    "TabularEncoder": {"keys": _TABULAR_KEYS, "required": set(_TABULAR_KEYS),
                       "consistent": _tabular_consistent},
}  # fmt: skip


def _check_state(cls, state: dict, where: str, network: dict | None) -> None:
    """Known keys only, each of its type, consistent with each other and the network."""
    cls_name = cls.__name__
    schema = STATE_SCHEMAS[cls_name]
    keys = _state_keys(cls)
    unknown = set(state) - set(keys)
    if unknown:
        raise ModelFileError(f"{where}: unexpected stored attribute {sorted(unknown)[0]!r}")
    missing = schema["required"] - set(state)
    if missing:
        raise ModelFileError(f"{where}: stored attribute {sorted(missing)[0]!r} is missing")
    for key, value in state.items():
        wanted = keys[key](value)
        if wanted is not None:
            raise ModelFileError(f"{where}: stored attribute {key!r} is not {wanted}")
    n_features = int(state["n_features_in_"])
    names = state.get("feature_names_in_")
    if names is not None and len(names) != n_features:
        raise ModelFileError(f"{where}: {len(names)} feature names for n_features_in_={n_features}")
    for key in _SCALER_VECTORS.get(cls_name, ()):
        if state.get(key) is not None and len(state[key]) != n_features:
            raise ModelFileError(f"{where}: {key} has {len(state[key])} entries, not {n_features}")
    if "consistent" in schema:
        schema["consistent"](state, where)
    if network is None:
        return
    n_outputs = schema["outputs"](state, where)
    checks = [
        (n_outputs, network["n_outputs"], "outputs"),
        (n_features, network["n_inputs"], "input features"),
    ]
    if "_hidden" in state:
        checks.append((tuple(int(w) for w in state["_hidden"]), network["hidden"], "hidden widths"))
    for stored, built, what in checks:
        if stored != built:
            raise ModelFileError(
                f"{where}: the stored state says {stored} {what} but the network has {built}"
            )
