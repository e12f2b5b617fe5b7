"""Seconds per epoch: skmlp's MLPClassifier against the same network in raw Keras.

Both sides train the same architecture on the same data with the same batch size,
optimizer, backend and compile settings (``steps_per_execution`` included), in
the same process, alternating A/B/A/B so that the machine's drift hits both.
Two numbers per side: the median of the steady epochs (every epoch after a
fit's first, timed by a Keras callback), which is what an epoch costs, and the
whole ``fit`` divided by the epochs, which also charges skmlp for everything it
adds around training (validation, label encoding, seeding, attributes).

Data: MNIST-shaped (784 features, 10 classes). By default random pixels, since
the time of an epoch does not depend on pixel values; ``--mnist DIR`` uses the
real training images from an IDX folder.

Usage::

    python benchmarks/bench_wrapper_overhead.py --archs all --rows 60000 --mnist DIR

Prints a table and writes ``benchmarks/results/wrapper_overhead_<backend>.{json,md}``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

from _record import portable_command, write_markdown, write_results

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import sklearn

import skmlp
from skmlp import MLPClassifier
from skmlp._training.engine import steps_per_execution as _steps_per_execution
from skmlp.architectures import SEED_ARCHITECTURES, get_architecture

RESULTS = Path(__file__).parent / "results"
TITLE = "Wrapper overhead"


def load_data(rows: int, mnist_dir: str | None):
    if mnist_dir:
        folder = Path(mnist_dir)
        images = next(folder.glob("train-images*idx3-ubyte*"))
        labels = next(folder.glob("train-labels*idx1-ubyte*"))
        opener = gzip.open if images.suffix == ".gz" else open
        with opener(images, "rb") as f:
            X = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
        with opener(labels, "rb") as f:
            y = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
        return (X[:rows] / 255.0).astype(np.float32), y[:rows].astype(np.int64)
    rng = np.random.default_rng(0)
    X = rng.random((rows, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=rows)
    return X, y


def build_raw_keras(n_features, widths, batch_norm, dropout, steps_per_execution=1):
    """The same network written directly against Keras, compiled with Keras' defaults.

    ``steps_per_execution`` is Keras' own compile option (skmlp uses 32 on
    TensorFlow); everything else is what skmlp compiles.
    """
    layers = [keras.Input(shape=(n_features,))]
    for w in widths:
        layers.append(keras.layers.Dense(w, activation="relu"))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-8),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self, times):
        super().__init__()
        self.times = times

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def raw_keras_fit(X, y, widths, batch_norm, dropout, epochs, batch_size, times):
    """The same network and training written directly against Keras."""
    keras.utils.set_random_seed(0)
    model = build_raw_keras(X.shape[1], widths, batch_norm, dropout, _steps_per_execution())
    model.fit(X, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0,
              callbacks=[_EpochTimer(times)])  # fmt: skip


class _TimedMLP(MLPClassifier):
    def _initialize_callbacks(self):
        super()._initialize_callbacks()
        self._fit_callbacks = [_EpochTimer(self._times)]


def skmlp_fit(X, y, widths, batch_norm, dropout, epochs, batch_size, times):
    clf = _TimedMLP(
        widths,
        batch_norm=batch_norm,
        dropout=dropout,
        alpha=0.0,  # raw Keras has no penalty
        batch_size=batch_size,
        max_iter=epochs,
        n_iter_no_change=epochs,  # run every epoch, as raw Keras does
        random_state=0,
    )
    clf._times = times
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert clf.n_iter_ == epochs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", default="mlp2", help="comma-separated names, or 'all'")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--mnist", default=None, help="IDX folder with MNIST's training files")
    parser.add_argument("--render", metavar="JSON", help="rewrite the .md of a recorded .json")
    args = parser.parse_args(argv)
    if args.render:
        facts = json.loads(Path(args.render).read_text())
        table = render(facts["results"])
        write_markdown(Path(args.render).with_suffix(""), TITLE, facts, table, detail="results")
        print(table)
        return

    names = [a.name for a in SEED_ARCHITECTURES] if args.archs == "all" else args.archs.split(",")
    X, y = load_data(args.rows, args.mnist)
    # one warm-up fit each, so that one-off start-up costs hit neither side
    raw_keras_fit(X[:1000], y[:1000], (8,), False, 0.0, 1, args.batch_size, [])
    skmlp_fit(X[:1000], y[:1000], (8,), False, 0.0, 1, args.batch_size, [])

    rows = []
    for name in names:
        arch = get_architecture(name)
        widths, bn, rate = arch.hidden_layer_sizes, arch.batch_norm, arch.dropout
        steady = {"keras": [], "skmlp": []}
        whole = {"keras": [], "skmlp": []}
        for _ in range(args.repeats):
            for side, fn in (("keras", raw_keras_fit), ("skmlp", skmlp_fit)):
                epochs = []
                t0 = time.perf_counter()
                fn(X, y, widths, bn, rate, args.epochs, args.batch_size, epochs)
                whole[side].append((time.perf_counter() - t0) / args.epochs)
                steady[side] += epochs[1:]
        k, s = statistics.median(steady["keras"]), statistics.median(steady["skmlp"])
        kw, sw = statistics.median(whole["keras"]), statistics.median(whole["skmlp"])
        rows.append(
            {
                "architecture": name,
                "keras_s_per_epoch": round(k, 4),
                "skmlp_s_per_epoch": round(s, 4),
                "ratio_skmlp_over_keras": round(s / k, 3),
                "keras_whole_fit_s_per_epoch": round(kw, 4),
                "skmlp_whole_fit_s_per_epoch": round(sw, 4),
                "ratio_whole_fit": round(sw / kw, 3),
                "keras_steady_epochs": [round(t, 4) for t in steady["keras"]],
                "skmlp_steady_epochs": [round(t, 4) for t in steady["skmlp"]],
            }
        )
        print(f"  {name}: keras {k:.3f} s/epoch, skmlp {s:.3f} s/epoch, ratio {s / k:.3f}; "
              f"whole fits {sw / kw:.3f}", flush=True)  # fmt: skip

    table = render(rows)
    print()
    print(table)

    facts = {
        "command": portable_command(
            [Path(sys.argv[0]).name, *(argv or sys.argv[1:])], {"--mnist": "DIR"}
        ),
        "data": "MNIST" if args.mnist else "random MNIST-shaped",
        "rows": args.rows,
        "epochs_per_fit": args.epochs,
        "repeats": args.repeats,
        "batch_size": args.batch_size,
        "steps_per_execution": _steps_per_execution(),
        "backend": keras.backend.backend(),
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "versions": {
            "skmlp": skmlp.__version__,
            "keras": keras.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "results": rows,
    }
    stem = RESULTS / f"wrapper_overhead_{keras.backend.backend()}"
    write_results(stem, TITLE, facts, table, detail="results")
    print(f"\nwrote {stem}.json and {stem}.md")


def render(rows) -> str:
    """The table of a run's results.

    TensorFlow's epochs on this kind of machine fall on a fast or a slow level
    (about 1:2, seen on both sides), so besides the medians the table compares
    each side's fastest steady epoch, the level both reach.
    """
    lines = [
        "| architecture | raw Keras s/epoch | skmlp s/epoch | skmlp / Keras (medians) "
        "| skmlp / Keras (fastest epochs) | whole fit: skmlp / Keras |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        fastest = min(r["skmlp_steady_epochs"]) / min(r["keras_steady_epochs"])
        lines.append(
            f"| {r['architecture']} | {r['keras_s_per_epoch']:.3f} | {r['skmlp_s_per_epoch']:.3f} "
            f"| {r['ratio_skmlp_over_keras']:.3f} | {fastest:.3f} | {r['ratio_whole_fit']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
