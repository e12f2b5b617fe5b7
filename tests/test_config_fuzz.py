"""Fuzz the search-file loader: random TOML values of every type, for every key.

Each case starts from a valid search file and replaces one to three of its keys
(any key of any section, the search space's parameters and a few unknown names)
with random TOML values of every type: integers from 0 to 2**63 - 1 and their
negatives, floats including inf and nan, booleans, strings (empty, long, unicode,
paths), dates and times, arrays and inline tables, nested. Whatever the file,
:func:`skmlp.experiment.load_config` returns a config or raises one one-line
:class:`~skmlp.experiment.ConfigError` naming the file; a config it returns can be
keyed, expanded into its search space and planned without an error (nothing that
follows in a run may be the first to find a bad value).

``SKMLP_FUZZ_CASES`` sets the number of cases (300 by default; the seed is the
case number, so a failure names the case that reproduces it).
"""

import datetime
import json
import math
import os
import random

import pytest

from skmlp.experiment import ConfigError, load_config
from skmlp.experiment.config import _SECTIONS, _mlp_params
from skmlp.experiment.search import planned_fits

CASES = int(os.environ.get("SKMLP_FUZZ_CASES", "300"))

BASE = {
    None: {"name": "fuzz"},
    "data": {"dataset": "digits"},
    "preprocessing": {"scaler": "auto"},
    "estimator": {"max_iter": 5, "alpha": 1e-4},
    "search": {"kind": "random", "n_iter": 4, "cv": 3, "random_state": 0},
    "search.space": {"hidden_layer_sizes": [[16], [32, 16]],
                     "dropout": {"distribution": "uniform", "low": 0.0, "high": 0.5}},
}  # fmt: skip
KEYS = {
    None: [*sorted(_SECTIONS[None] - {"data", "search", "estimator", "preprocessing"}), "bogus"],
    "data": sorted(_SECTIONS["data"]),
    "preprocessing": sorted(_SECTIONS["preprocessing"]),
    "estimator": sorted(_mlp_params()),
    "search": sorted(_SECTIONS["search"] - {"space"}),
    "search.space": [*sorted(_mlp_params()), "architecture", "bogus"],
}
SPECIAL_INTS = [0, 1, -1, 2, 3, 20, 2**31, 2**32, 2**63 - 1, -(2**63), 10**6, 10**9]
SPECIAL_FLOATS = [0.0, -0.0, 0.5, 1.0, 1.0000000001, 1e-300, 1e308, -1e308,
                  math.inf, -math.inf, math.nan]  # fmt: skip
SPECIAL_STRINGS = ["", "digits", "mnist", "random", "halving-grid", "epochs", "samples",
                   "adam", "relu", "../../etc/passwd", "/dev/zero", "x" * 5000, "é\u202e",
                   "tcp://127.0.0.1:1", "standard", "auto", "\x1b[31m", "nan"]  # fmt: skip


def random_value(rng: random.Random, depth: int = 0):
    """A random TOML value of any type (arrays and inline tables nest)."""
    kind = rng.choice(["int", "int", "float", "float", "bool", "str", "str", "date",
                       "array", "array", "table", "distribution"])  # fmt: skip
    if depth > 3 and kind in ("array", "table", "distribution"):
        kind = "int"
    if kind == "int":
        return rng.choice([*SPECIAL_INTS, rng.randint(-(2**63), 2**63 - 1)])
    if kind == "float":
        return rng.choice([*SPECIAL_FLOATS, rng.uniform(-10, 10)])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "str":
        return rng.choice([*SPECIAL_STRINGS, "".join(chr(rng.randint(1, 12287)) for _ in range(8))])
    if kind == "date":
        return rng.choice([datetime.date(1979, 5, 27), datetime.time(7, 32),
                           datetime.datetime(1979, 5, 27, 7, 32, tzinfo=datetime.UTC)])  # fmt: skip
    if kind == "array":
        return [random_value(rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 3, 40]))]
    if kind == "table":
        return {rng.choice(["low", "high", "a", "distribution"]): random_value(rng, depth + 1)
                for _ in range(rng.randint(0, 3))}  # fmt: skip
    return {"distribution": rng.choice(["uniform", "loguniform", "randint", "normal"]),
            "low": random_value(rng, depth + 1), "high": random_value(rng, depth + 1)}  # fmt: skip


def toml_value(value) -> str:
    """``value`` written as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(
            value) else repr(value)  # fmt: skip
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return (
        "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    )


def toml_document(doc: dict) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in doc[None].items()]
    for section in ("data", "preprocessing", "estimator", "search", "search.space"):
        if doc.get(section):
            lines.append(f"[{section}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc[section].items()]
    return "\n".join(lines) + "\n"


def random_document(seed: int) -> dict:
    rng = random.Random(seed)
    doc = {section: dict(table) for section, table in BASE.items()}
    for _ in range(rng.randint(1, 3)):
        section = rng.choice(list(KEYS))
        doc[section][rng.choice(KEYS[section])] = random_value(rng)
    return doc


def test_the_fuzzer_makes_valid_files_that_load(tmp_path):
    # the base document is a valid search file: the cases start from something that loads
    path = tmp_path / "base.toml"
    path.write_text(toml_document(BASE), encoding="utf-8")
    config = load_config(path)
    assert config.search == "random" and config.n_iter == 4


@pytest.mark.parametrize("block", range(max(CASES // 100, 1)))
def test_random_values_for_every_key_never_give_a_traceback(tmp_path, block):
    accepted = refused = 0
    for seed in range(block * 100, min(block * 100 + 100, max(CASES, 1))):
        doc = random_document(seed)
        path = tmp_path / f"case{seed}.toml"
        path.write_text(toml_document(doc), encoding="utf-8")
        try:
            config = load_config(path)
        except ConfigError as exc:
            message = str(exc)
            assert message.startswith(str(path)) and "\n" not in message, (seed, message)
            refused += 1
            continue
        except Exception as exc:  # pragma: no cover - what the fuzzer is looking for
            pytest.fail(f"case {seed}: {type(exc).__name__}: {exc}\n{toml_document(doc)}")
        try:  # what a run does with the settings before it reads the data
            config.key()
            config.param_space()
            planned_fits(config, 1000)
        except Exception as exc:  # pragma: no cover
            pytest.fail(f"case {seed} loaded, then {type(exc).__name__}: {exc}\n"
                        f"{toml_document(doc)}")  # fmt: skip
        accepted += 1
    assert accepted + refused > 0
