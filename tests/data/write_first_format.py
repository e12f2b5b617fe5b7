"""Write ``first_format.skmlp`` and ``first_format.json`` with skmlp's first model-file code.

Run with the checkout of commit 345f36c (the commit that introduced ``skmlp.save``)
first on the path, never with today's code: see ``README.md`` beside this file.
The JSON holds what that code predicted, for ``tests/test_persistence.py`` to
compare with what today's loader makes of the file.
"""

import json
import sys
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skmlp
from skmlp import MLPClassifier


def main(out):
    X, y = load_digits(return_X_y=True)
    pipe = Pipeline(
        [("scale", StandardScaler()), ("mlp", MLPClassifier((8,), max_iter=5, random_state=0))]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
    skmlp.save(pipe, f"{out}/first_format.skmlp")
    rows = [0, 1, 2, 3, 4]
    record = {
        "written_by": {"skmlp": skmlp.__version__, "module": skmlp.save.__module__},
        "rows": rows,
        "predict_proba": pipe.predict_proba(X[rows]).tolist(),
        "predict": pipe.predict(X[rows]).tolist(),
    }
    with open(f"{out}/first_format.json", "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


if __name__ == "__main__":  # pytest's doctest collection imports this file
    main(sys.argv[1])
