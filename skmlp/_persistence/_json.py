"""Typed JSON: parameters and fitted state that decode back to the same types.

:func:`_encode` writes numbers, strings, booleans, tuples, lists, dicts and numeric or
string arrays as JSON with type tags; :func:`_decode` reads them back and refuses
anything else. :func:`_parse_json` parses within a size and nesting budget.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ._limits import MAX_JSON_DEPTH, MAX_LABEL_CHARS, MAX_STRING_ARRAY_BYTES, ModelFileError


def _encode(value, where: str):
    """Encode a value as JSON that decodes back to the same type."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return {
                "__ndarray__": value.dtype.str,
                "shape": list(value.shape),
                "data": [_encode(v, where) for v in value.ravel().tolist()],
            }
        if value.dtype.kind == "U" or (
            value.dtype.kind == "O" and all(isinstance(v, str) for v in value.ravel())
        ):
            kind = "str" if value.dtype.kind == "U" else "object-str"
            return {"__ndarray__": kind, "shape": list(value.shape), "data": value.ravel().tolist()}
    raise TypeError(
        f"{where}: a value of type {type(value).__name__} cannot be stored in an skmlp model "
        "file (only numbers, strings, booleans, lists, dicts and numeric or string arrays); "
        "use joblib.dump for this model"
    )


_FLOAT_WORDS = {"nan", "inf", "-inf"}


def _check_depth(obj, where: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH (checked without recursion)."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            if depth > MAX_JSON_DEPTH:
                raise ModelFileError(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in items)


def _parse_json(data: bytes, where: str, limit: int):
    """Parse JSON within a size and depth budget; duplicate keys are refused."""
    if len(data) > limit:
        raise ModelFileError(f"{where}: {len(data)} bytes, over the {limit}-byte limit")

    def pairs(items):
        out = dict(items)
        if len(out) != len(items):
            raise ModelFileError(f"{where}: a JSON object repeats a key")
        return out

    try:
        obj = json.loads(data, object_pairs_hook=pairs)
    except RecursionError:
        raise ModelFileError(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{where}: not valid JSON ({exc})") from None
    _check_depth(obj, where)
    return obj


def _decode(value, where: str = "the model file"):
    """Decode typed JSON written by :func:`_encode`; anything else is refused."""
    if isinstance(value, list):
        return [_decode(v, where) for v in value]
    if not isinstance(value, dict):
        return value
    keys = set(value)
    if keys == {"__float__"}:
        word = value["__float__"]
        if not isinstance(word, str) or word not in _FLOAT_WORDS:
            raise ModelFileError(f"{where}: {word!r} is not a stored float")
        return float(word)
    if keys == {"__tuple__"} and isinstance(value["__tuple__"], list):
        return tuple(_decode(v, where) for v in value["__tuple__"])
    if keys == {"__dict__"} and isinstance(value["__dict__"], list):
        out = {}
        for pair in value["__dict__"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ModelFileError(f"{where}: a stored dict entry is not a key-value pair")
            key = _decode(pair[0], where)
            try:
                hash(key)
            except TypeError:
                raise ModelFileError(f"{where}: a stored dict key is not hashable") from None
            out[key] = _decode(pair[1], where)
        return out
    if keys == {"__ndarray__", "shape", "data"}:
        return _decode_array(value, where)
    raise ModelFileError(f"{where}: unknown value in the model file: {sorted(keys)[:5]}")


def _decode_array(value: dict, where: str) -> np.ndarray:
    kind, shape, data = value["__ndarray__"], value["shape"], value["data"]
    if (
        not isinstance(shape, list)
        or len(shape) > 32
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        or not isinstance(data, list)
        or math.prod(shape) != len(data)
    ):
        raise ModelFileError(f"{where}: a stored array's shape does not match its data")
    if kind in ("str", "object-str"):
        if not all(isinstance(v, str) for v in data):
            raise ModelFileError(f"{where}: a stored string array holds non-strings")
        longest = max(map(len, data), default=0)
        if longest > MAX_LABEL_CHARS:
            raise ModelFileError(
                f"{where}: a stored label or name has {longest} characters, over the "
                f"limit of {MAX_LABEL_CHARS}"
            )
        if kind == "str":
            if len(data) * max(longest, 1) * 4 > MAX_STRING_ARRAY_BYTES:
                raise ModelFileError(
                    f"{where}: {len(data)} strings padded to {longest} characters would take "
                    f"over {MAX_STRING_ARRAY_BYTES} bytes"
                )
            return np.array(data, dtype=str).reshape(shape)
        out = np.empty(len(data), dtype=object)
        out[:] = data
        return out.reshape(shape)
    try:
        if not isinstance(kind, str) or len(kind) > 4:
            raise TypeError
        dtype = np.dtype(kind)
    except TypeError:
        raise ModelFileError(f"{where}: unsupported array type {kind!r}") from None
    if dtype.kind not in "biuf" or dtype.itemsize > 8:
        raise ModelFileError(f"{where}: unsupported array type {kind!r} in the model file")
    numbers = []
    for v in data:
        if isinstance(v, dict):
            v = _decode(v, where)
        if not isinstance(v, (int, float)):
            raise ModelFileError(f"{where}: a stored numeric array holds {type(v).__name__}")
        numbers.append(v)
    try:
        return np.array(numbers, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise ModelFileError(f"{where}: a stored array does not fit its type ({exc})") from None
