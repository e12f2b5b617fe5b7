"""The ``skmlp`` command: argument parsing only; the work is in the library.

``skmlp run`` runs the seed's architecture comparison (:func:`skmlp.experiment.run_experiment`);
``skmlp predict`` applies a saved model to new data. Errors a user can fix (unknown
dataset, missing data, unwritable folder, bad file) print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ._backend import BACKEND_PREFERENCE, choose_backend, quiet_tensorflow_start

__all__ = ["main"]

BACKEND_HELP = (
    "Keras backend (default: KERAS_BACKEND if set, else the fastest installed: "
    + ", ".join(BACKEND_PREFERENCE)
    + ")"
)

EXAMPLES = """\
examples:
  skmlp run                                   # the six seed architectures on sklearn's digits
  skmlp run --dataset mnist --data-dir ~/mnist --out results/mnist
  skmlp run --dataset mnist --n-train 3000 --epochs 3 --architectures mlp2,mlp2-bn-do
  skmlp predict results/mnist/best_model.joblib t10k-images-idx3-ubyte.gz

datasets: digits ships with scikit-learn (offline). mnist and fashion-mnist are read from
--data-dir, $SKMLP_DATA/<name>/, ~/.cache/skmlp/<name>/ (or Debian's dataset-fashion-mnist),
and downloaded into the cache when found nowhere.
"""


def _parser() -> argparse.ArgumentParser:
    from .architectures import SEED_ARCHITECTURES

    names = ",".join(a.name for a in SEED_ARCHITECTURES)
    parser = argparse.ArgumentParser(
        prog="skmlp",
        description="Keras MLPs the scikit-learn way: compare architectures by "
        "cross-validation, report the test set once, save the best model.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{run,predict}")
    sub.required = True

    run = sub.add_parser(
        "run",
        help="grid-search the seed's architectures, refit, test once, save",
        description="Cross-validate each architecture on the training set (stratified "
        "k-fold), refit each on all training data, score it once on the test set, and "
        "save results, plots and the best-by-CV model to --out. Re-running the same "
        "command resumes an interrupted run.",
    )
    run.add_argument(
        "--dataset", default="digits", metavar="{digits,mnist,fashion-mnist}",
        help="data to use (default: digits, bundled with scikit-learn)",
    )  # fmt: skip
    run.add_argument("--data-dir", help="folder holding the IDX files of mnist/fashion-mnist")
    run.add_argument("--architectures", default=names, help=f"comma-separated (default: {names})")
    run.add_argument("--cv", type=int, default=3, help="stratified folds (default: 3)")
    run.add_argument("--epochs", type=int, default=20, help="epochs per fit (default: 20)")
    run.add_argument("--batch-size", type=int, default=100, help="minibatch (default: 100)")
    run.add_argument(
        "--validation-fraction", type=float, default=0.1,
        help="share of the training data held out in the final refits for the validation "
        "loss curves (default: 0.1; 0 turns the curves off)",
    )  # fmt: skip
    run.add_argument("--n-train", type=int, help="use a stratified subsample of training rows")
    run.add_argument("--n-test", type=int, help="use a stratified subsample of test rows")
    run.add_argument("--out", default="skmlp_results", help="output folder (default: %(default)s)")
    run.add_argument("--n-jobs", type=int, default=1, help="parallel CV fits (default: 1)")
    run.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="print only the results table")
    run.add_argument("--backend", choices=BACKEND_PREFERENCE, help=BACKEND_HELP)

    pred = sub.add_parser(
        "predict",
        help="predict classes with a saved model",
        description="Apply a model saved by 'skmlp run' (best_model.skmlp or "
        "best_model.joblib) to images in an IDX file (.gz or raw), a .npy array or a .csv of "
        "pixel rows. .skmlp files are safe to load from anyone; joblib files can run code "
        "when loaded, so only load those you trust.",
    )
    pred.add_argument("model", help="a model file: .skmlp (safe) or .joblib (trusted only)")
    pred.add_argument("input", help="IDX, .npy or .csv file of raw pixels, one image per row")
    pred.add_argument("--proba", action="store_true", help="print class probabilities too")
    pred.add_argument("--output", help="write predictions to this .csv instead of stdout")
    pred.add_argument("--backend", choices=BACKEND_PREFERENCE, help=BACKEND_HELP)
    return parser


def _read_input(path: str):
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"input file {path} does not exist")
    name = p.name.lower()
    if name.endswith(".npy"):
        X = np.load(p, allow_pickle=False)
    elif name.endswith(".csv"):
        import pandas as pd

        X = pd.read_csv(p, header=None).to_numpy()
        if X.size and not np.issubdtype(X.dtype, np.number):
            X = pd.read_csv(p).to_numpy()  # the first row was a header
    else:
        from .datasets import read_idx

        X = read_idx(p)
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    return X.reshape(len(X), -1)


def _cmd_run(args, backend) -> int:
    from .experiment import ExperimentConfig, check_output_dir, format_results, run_experiment

    config = ExperimentConfig(
        dataset=args.dataset,
        architectures=[a.strip() for a in args.architectures.split(",") if a.strip()],
        cv=args.cv,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_fraction=args.validation_fraction,
        random_state=args.random_state,
        n_train=args.n_train,
        n_test=args.n_test,
    )
    config.validate()
    check_output_dir(args.out)
    if not args.quiet:
        print("Keras backend: {} ({})".format(*backend), flush=True)
    result = run_experiment(
        config,
        data_dir=args.data_dir,
        out=args.out,
        n_jobs=args.n_jobs,
        plots=not args.no_plots,
        verbose=not args.quiet,
        command="skmlp " + " ".join(sys.argv[1:]),
    )
    print()
    print(format_results(result.results))
    print(
        f"\nbest by CV accuracy: {result.best_architecture}  ->  {result.out / 'best_model.joblib'}"
    )
    return 0


def _cmd_predict(args, backend) -> int:
    import joblib
    import numpy as np

    if not Path(args.model).is_file():
        raise FileNotFoundError(f"model file {args.model} does not exist")
    from ._persistence import is_model_file, load

    X = _read_input(args.input)
    model = load(args.model) if is_model_file(args.model) else joblib.load(args.model)
    if not hasattr(model, "predict_proba"):
        raise ValueError(f"{args.model} does not hold a classifier")
    proba = model.predict_proba(X)
    classes = model.classes_
    pred = classes[np.argmax(proba, axis=1)]
    import pandas as pd

    table = pd.DataFrame({"prediction": pred})
    if args.proba:
        for i, c in enumerate(classes):
            table[f"p_{c}"] = proba[:, i].round(6)
    if args.output:
        from ._io import atomic_write_text

        atomic_write_text(args.output, table.to_csv(index_label="row"))
        print(f"wrote {len(table)} predictions to {args.output}")
    else:
        print(table.to_csv(index_label="row"), end="")
    print("skmlp: predicted with Keras backend {} ({})".format(*backend), file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """Run the ``skmlp`` command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        Exit status: 0 on success, 2 on a usage or data error.
    """
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        backend = choose_backend(args.backend)
        if backend[0] == "tensorflow":
            quiet_tensorflow_start()  # CUDA/CPU-feature start-up lines on CPU-only machines
        return _cmd_run(args, backend) if args.command == "run" else _cmd_predict(args, backend)
    except (ValueError, OSError, ImportError) as exc:
        # one line, no traceback: the library's messages say the essentials first
        message = str(exc).strip().splitlines()
        print(f"skmlp: error: {message[0] if message else type(exc).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nskmlp: interrupted; finished fits are saved, run the same command to resume",
              file=sys.stderr)  # fmt: skip
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
