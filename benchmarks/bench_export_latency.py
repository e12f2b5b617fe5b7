"""Prediction latency of an exported model: onnxruntime against skmlp and scikit-learn (issue 30).

One digits pipeline per architecture (``PixelScaler(16)`` then ``MLPClassifier``; ``mlp2``:
256-64 ReLU, and ``mlp2-bn-do``: the same with batch normalisation and dropout 0.3), trained
a few epochs on JAX and saved as ``.skmlp``, is predicted by four runners, each in a FRESH
process (``python bench_export_latency.py --child RUNNER MODEL``):

- ``onnxruntime``: the graph ``skmlp export`` writes (the whole pipeline), default session;
- ``skmlp-jax`` and ``skmlp-tensorflow``: ``skmlp.load(MODEL).predict_proba``;
- ``sklearn``: scikit-learn's ``MLPClassifier`` behind the same ``PixelScaler``, its
  ``coefs_``/``intercepts_`` set to the network's weights (batch normalisation folded into
  the next layer, dropout left out, as the export does), which scikit-learn's MLP can
  express for these ReLU networks.

Each process times ``predict_proba`` on one row (the median of ``--single`` calls, after 20
warm-up calls) and on 10,000 rows (digits rows drawn with replacement; the median of
``--batches`` calls, after one warm-up call), and reports the largest difference of its
probabilities from skmlp's on JAX.

    python benchmarks/bench_export_latency.py [--single 2000] [--batches 7]

Writes ``benchmarks/results/export_latency.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
RUNNERS = ("onnxruntime", "skmlp-jax", "skmlp-tensorflow", "sklearn")
ARCHITECTURES = {
    "mlp2": {"hidden_layer_sizes": (256, 64)},
    "mlp2-bn-do": {"hidden_layer_sizes": (256, 64), "batch_norm": True, "dropout": 0.3},
}
N_BATCH = 10_000


def _rows():
    import numpy as np
    from sklearn.datasets import load_digits

    X = load_digits().data.astype(np.float32)
    batch = X[np.random.default_rng(0).integers(0, len(X), N_BATCH)]
    return X, batch


def _sklearn_copy(model_path: str):
    """scikit-learn's MLPClassifier with the network's weights (BN folded, dropout out)."""
    import numpy as np
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import LabelBinarizer

    import skmlp
    from skmlp._export._network import network_steps

    pipe = skmlp.load(model_path)
    mlp = pipe[-1]
    steps = network_steps(mlp.model_)
    affine = [s for s in steps if s[0] == "affine"]
    acts = [s[1] for s in steps if s[0] == "activation"]
    if len(affine) != len(acts) or set(acts[:-1]) != {"relu"} or acts[-1] != "softmax":
        raise ValueError("scikit-learn's MLPClassifier cannot express this network")
    copy = MLPClassifier(hidden_layer_sizes=mlp.hidden_layer_sizes, activation="relu")
    copy.coefs_ = [a[1].astype(np.float32) for a in affine]
    copy.intercepts_ = [a[2].astype(np.float32) for a in affine]
    copy.n_layers_, copy.n_outputs_, copy.out_activation_ = len(affine) + 1, 10, "softmax"
    copy.classes_, copy.n_features_in_ = mlp.classes_, mlp.n_features_in_
    copy._label_binarizer = LabelBinarizer().fit(mlp.classes_)
    return Pipeline([*pipe.steps[:-1], ("mlp", copy)])


def _predictor(runner: str, model: str):
    """A function of a float32 array returning class probabilities."""
    if runner == "onnxruntime":
        import onnxruntime as ort

        session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        return lambda X: session.run(["probabilities"], {"X": X})[0]
    if runner == "sklearn":
        return _sklearn_copy(model).predict_proba
    import skmlp

    return skmlp.load(model).predict_proba


def child(runner: str, model: str, single: int, batches: int) -> dict:
    """What one fresh process measures; printed as JSON on its last line."""
    import numpy as np

    warnings.simplefilter("ignore")
    predict = _predictor(runner, model)
    X, batch = _rows()
    for i in range(20):
        predict(X[i : i + 1])
    times = []
    for i in range(single):
        t = time.perf_counter()
        predict(X[i % len(X) : i % len(X) + 1])
        times.append(time.perf_counter() - t)
    predict(batch)
    big = []
    for _ in range(batches):
        t = time.perf_counter()
        proba = predict(batch)
        big.append(time.perf_counter() - t)
    np.save(Path(model).with_name(f"proba_{runner}.npy"), np.asarray(proba, dtype=np.float64))
    return {"single_ms": 1e3 * statistics.median(times),
            "batch_ms": 1e3 * statistics.median(big)}  # fmt: skip


def _train(folder: Path, name: str) -> tuple[str, str]:
    """The architecture's pipeline fitted on JAX, saved and exported; (skmlp, onnx) paths."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    code = (
        "import sys, warnings, json; warnings.simplefilter('ignore')\n"
        "import skmlp\nfrom skmlp.datasets import load_digits\n"
        "from skmlp.experiment import make_pipeline\n"
        "params = json.loads(sys.argv[3]); params['hidden_layer_sizes'] = "
        "tuple(params['hidden_layer_sizes'])\n"
        "d = load_digits()\n"
        "pipe = make_pipeline(16, max_iter=10, random_state=0, **params)\n"
        "pipe.fit(d.X_train, d.y_train)\n"
        "print(pipe.score(d.X_test, d.y_test))\n"
        "skmlp.save(pipe, sys.argv[1]); skmlp.export(sys.argv[1], sys.argv[2])\n"
    )
    model, onnx = str(folder / f"{name}.skmlp"), str(folder / f"{name}.onnx")
    args = [sys.executable, "-c", code, model, onnx, json.dumps(ARCHITECTURES[name])]
    subprocess.run(args, env=env, check=True, capture_output=True, text=True)
    return model, onnx


def _run_child(runner: str, model: str, args) -> dict:
    backend = runner.removeprefix("skmlp-") if runner.startswith("skmlp-") else "jax"
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT),
           "TF_CPP_MIN_LOG_LEVEL": "3"}  # fmt: skip
    cmd = [sys.executable, __file__, "--child", runner, model,
           "--single", str(args.single), "--batches", str(args.batches)]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{runner} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("RUNNER", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--single", type=int, default=2000, help="one-row calls timed")
    parser.add_argument("--batches", type=int, default=7, help="10,000-row calls timed")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.single, args.batches)))
        return 0
    import numpy as np
    from _record import portable_command, write_results

    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    rows, detail = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ARCHITECTURES:
            model, onnx = _train(Path(tmp), name)
            for runner in ("skmlp-jax", "skmlp-tensorflow", "onnxruntime", "sklearn"):
                result = _run_child(runner, onnx if runner == "onnxruntime" else model, args)
                reference = np.load(Path(tmp) / "proba_skmlp-jax.npy")
                proba = np.load(Path(tmp) / f"proba_{runner}.npy")
                result["max_abs_diff_vs_skmlp_jax"] = float(np.abs(proba - reference).max())
                detail[f"{name}/{runner}"] = result
                print(name, runner, {k: round(v, 4) for k, v in result.items()}, flush=True)
            base = detail[f"{name}/onnxruntime"]
            for runner in RUNNERS:
                r = detail[f"{name}/{runner}"]
                rows.append(f"| {name} | {runner} | {r['single_ms']:.3f} | "
                            f"{r['single_ms'] / base['single_ms']:.1f}x | {r['batch_ms']:.1f} | "
                            f"{r['batch_ms'] / base['batch_ms']:.1f}x | "
                            f"{r['max_abs_diff_vs_skmlp_jax']:.1e} |")  # fmt: skip
    table = "\n".join([
        "| model | runner | 1 row (ms) | vs ONNX | 10,000 rows (ms) | vs ONNX | max abs diff |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |", *rows])  # fmt: skip
    print(table)
    import onnxruntime
    import sklearn

    import skmlp

    facts = {
        "command": portable_command(["python", *sys.argv]),
        "what": "median predict_proba latency, each runner in a fresh process; the whole "
        "pipeline (PixelScaler + MLP) in every runner",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_average_before": load_before,
                    "load_average_after": os.getloadavg() if load_before else None},
        "versions": {"skmlp": skmlp.__version__, "onnxruntime": onnxruntime.__version__,
                     "scikit-learn": sklearn.__version__, "python": platform.python_version()},
        "single_calls": args.single, "batch_calls": args.batches, "batch_rows": N_BATCH,
        "detail": detail,
    }  # fmt: skip
    write_results(RESULTS / "export_latency", "Prediction latency of an exported model",
                  facts, table, "detail")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
