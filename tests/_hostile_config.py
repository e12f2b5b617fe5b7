"""Hostile search files (issue 24, findings 5 and 9): what used to take gigabytes or never end.

``CASES`` lists ``(finding, name, make)``; ``make(folder)`` writes the file into
``folder`` and returns the arguments of ``python -m skmlp`` that must refuse it.
Used by ``benchmarks/bench_hostile_inputs.py``; the tests of the same findings are
in ``tests/test_trust_surfaces.py``.
"""

from __future__ import annotations

from pathlib import Path


def _config(text: str):
    def make(folder: Path) -> list[str]:
        (folder / "search.toml").write_text(text, encoding="utf-8")
        return ["run", "--config", "search.toml", "--out", "out"]

    return make


CASES = [
    (5, "n_iter = 10**9 (5 GB in 20 s before)",
     _config('[search]\nkind = "random"\nn_iter = 1000000000\n[search.space]\n'
             'alpha = {distribution = "loguniform", low = 1e-5, high = 1e-1}\n')),
    (5, "factor = 1.0000000001 (never ended)",
     _config('[search]\nkind = "halving-grid"\nfactor = 1.0000000001\n')),
    (5, "a 10**6-candidate grid",
     _config("[search.space]\n" + "".join(
         f"{k} = [{', '.join(str(v / 1000) for v in range(1, 101))}]\n"
         for k in ("alpha", "tol", "learning_rate_init")))),
    (5, "(20000, 20000): 400 million parameters, passed at 16 B a parameter",
     _config("[search.space]\nhidden_layer_sizes = [[20000, 20000]]\n")),
    (9, "TOML nested 5000 deep",
     _config("a = " + "[" * 5000 + "]" * 5000 + "\n")),
    (9, "n_iter = 2**63 - 1",
     _config('[search]\nkind = "random"\nn_iter = 9223372036854775807\n')),
    (29, "an Optuna study's storage named in the file (a network address)",
     _config('[search]\nkind = "optuna"\nn_trials = 4\n'
             'storage = "postgresql://attacker.example.org/trials"\n')),
    (29, "n_trials = 2**63 - 1 in an Optuna study",
     _config('[search]\nkind = "optuna"\nn_trials = 9223372036854775807\n')),
]  # fmt: skip
