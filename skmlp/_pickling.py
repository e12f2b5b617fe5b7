"""Pickling, copying and skops for the estimators: plain data and the network's bytes.

A fitted estimator's pickled state (``__getstate__``) is what an ``.skmlp`` file
holds, as Python objects: the parameters, the fitted state of ``_get_state``
(builtins and NumPy arrays), the network as ``.keras`` bytes and the
learning-rate schedule as a dict. Nothing in it is a live Keras object, so

* ``pickle``, ``joblib``, ``copy.deepcopy`` and joblib's worker processes never
  go through Keras' pickling, and raise no warning (Keras' own saving calls
  deprecated NumPy APIs; :func:`~skmlp._backend.quiet_backend_deprecations`
  silences those where skmlp calls it);
* ``skops.io`` walks the state as data. Loading (``__setstate__``) checks the
  state and the network exactly as :func:`skmlp.load` does (known attributes of
  the right types, Keras' own layers only, weights of the configured shapes) and
  lets Keras read the network with ``safe_mode=True``: no code from the file runs.
"""

from __future__ import annotations

import numpy as np

from ._persistence._keras import _keras_bytes, _load_keras
from ._persistence._limits import ModelFileError
from ._persistence._state import STATE_SCHEMAS, _check_state
from ._schedules import LearningRateSchedule

__all__ = ["get_estimator_state", "set_estimator_state"]

#: Version of the pickled state's layout: 1 is the first.
PICKLE_VERSION = 1

# What a pickled learning-rate schedule holds, and what each entry must be.
_SCHEDULE_KEYS = {
    "learning_rate_init": float, "schedule": str, "power_t": float, "max_iter": int,
    "epochs": int, "learning_rate": float, "rates": list,
}  # fmt: skip


def _schema_class(cls):
    """The skmlp class (MLPClassifier or MLPRegressor) whose state schema ``cls`` follows."""
    for klass in cls.__mro__:
        if klass.__name__ in STATE_SCHEMAS and klass.__module__.startswith("skmlp."):
            return klass
    raise TypeError(f"{cls.__name__} has no skmlp state schema")


def get_estimator_state(est) -> dict:
    """``est.__getstate__()``: parameters, fitted state and the network as bytes."""
    state = {"skmlp_pickle": PICKLE_VERSION, "params": est.get_params(deep=False)}
    if "model_" not in vars(est):
        return state  # unfitted: the parameters are all there is
    state["state"] = est._get_state()
    state["network"] = _keras_bytes(est.model_)
    schedule = getattr(est, "_optimizer", None)
    state["schedule"] = None if schedule is None else dict(vars(schedule))
    return state


def _check_schedule(value, where: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != set(_SCHEDULE_KEYS):
        raise ModelFileError(f"{where}: the learning-rate schedule is malformed")
    for key, kind in _SCHEDULE_KEYS.items():
        item = value[key]
        ok = isinstance(item, (int, float, np.number)) if kind is float else isinstance(item, kind)
        if not ok or isinstance(item, bool):
            raise ModelFileError(f"{where}: the schedule's {key!r} is not a {kind.__name__}")
    if not all(isinstance(r, (int, float, np.number)) for r in value["rates"]):
        raise ModelFileError(f"{where}: the schedule's rates are not numbers")
    return value


def set_estimator_state(est, state) -> None:
    """``est.__setstate__(state)``: check everything, then rebuild the network.

    Raises :class:`~skmlp.ModelFileError` for state that :func:`get_estimator_state`
    cannot have written (other keys or types, a network that is not skmlp's).
    """
    cls = _schema_class(type(est))
    where = f"pickled {type(est).__name__}"
    if isinstance(state, dict) and "skmlp_pickle" not in state and "model_" in state:
        vars(est).update(state)  # pickled by an earlier skmlp, live network included
        return
    if not isinstance(state, dict) or state.get("skmlp_pickle") != PICKLE_VERSION:
        raise ModelFileError(f"{where}: not a state this skmlp writes (version {PICKLE_VERSION})")
    params = state.get("params")
    if isinstance(params, dict) and "callbacks" not in params:
        params = {**params, "callbacks": None}  # pickled before skmlp had callbacks
    known = set(type(est)._get_param_names())
    if not isinstance(params, dict) or set(params) != known:
        raise ModelFileError(f"{where}: the parameters are not {type(est).__name__}'s")
    for key, value in params.items():
        setattr(est, key, value)
    if set(state) == {"skmlp_pickle", "params"}:
        return  # unfitted
    if set(state) != {"skmlp_pickle", "params", "state", "network", "schedule"}:
        raise ModelFileError(f"{where}: unexpected or missing entries in the state")
    fitted, network = state["state"], state["network"]
    if not isinstance(fitted, dict) or not isinstance(network, bytes):
        raise ModelFileError(f"{where}: the fitted state or the network is malformed")
    schedule = _check_schedule(state["schedule"], where)
    _check_state(cls, fitted, where, network=None)  # types first: cheap
    model, shape = _load_keras(network, f"{where} network")
    _check_state(cls, fitted, where, network=shape)
    est._set_state(dict(fitted), model)
    if schedule is not None:
        est._optimizer = LearningRateSchedule.__new__(LearningRateSchedule)
        vars(est._optimizer).update(schedule, rates=list(schedule["rates"]))
