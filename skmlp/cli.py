"""The ``skmlp`` command: argument parsing only; the work is in the library.

``skmlp run`` runs the seed's architecture comparison, or the search a ``--config`` file
names (:func:`skmlp.experiment.run_experiment`);
``skmlp predict`` applies a saved model to new data; ``skmlp export`` writes it as
ONNX or a TF SavedModel, with a model card (:func:`skmlp.export`). Errors a user can fix (unknown
dataset, missing data, unwritable folder, bad file) print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import contextlib
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
  skmlp run --config search.toml               # your data, search space and search
  skmlp run --config search.toml --dask-scheduler tcp://scheduler:8786
  skmlp run --track mlflow                     # + an MLflow run in skmlp_results/digits/mlflow.db
  skmlp predict results/mnist/best_model.skmlp t10k-images-idx3-ubyte.gz
  skmlp export results/mnist/best_model.skmlp mnist.onnx --card   # + mnist.md

models: best_model.skmlp is safe to load from anyone (no pickle). best_model.joblib is a
pickle, which can run any code when loaded: predict refuses it unless you pass --trust-pickle,
only for a file you made yourself.

datasets: digits ships with scikit-learn (offline). mnist and fashion-mnist are read from
--data-dir, $SKMLP_DATA/<name>/, ~/.cache/skmlp/<name>/ (or Debian's dataset-fashion-mnist),
and downloaded into the cache when found nowhere.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skmlp",
        description="Keras MLPs the scikit-learn way: compare architectures by "
        "cross-validation, report the test set once, save the best model.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{run,predict,export}")
    sub.required = True
    _add_run(sub)
    _add_predict(sub)
    _add_export(sub)
    return parser


def _add_run(sub) -> None:
    """The ``run`` command's options."""
    from .architectures import SEED_ARCHITECTURES

    names = ",".join(a.name for a in SEED_ARCHITECTURES)
    run = sub.add_parser(
        "run",
        help="grid-search the seed's architectures, refit, test once, save",
        description="Cross-validate each architecture on the training set (stratified "
        "k-fold), refit each on all training data, score it once on the test set, and "
        "save results, plots and the best-by-CV model to --out. Re-running the same "
        "command resumes an interrupted run.",
    )
    run.add_argument(
        "--config", metavar="FILE",
        help="a search file (TOML) naming the data, preprocessing, estimator settings, search "
        "space and search; the experiment options below then come from it",
    )  # fmt: skip
    run.add_argument(
        "--dask-scheduler", metavar="ADDRESS",
        help="run the search's fits on the Dask cluster at ADDRESS: the training data and the "
        "estimators go to its workers, each fit's record comes back, and only this machine "
        "writes the output folder (the workers need not share its disk)",
    )  # fmt: skip
    run.add_argument(
        "--storage", metavar="URL",
        help='the database of a kind = "optuna" search\'s study, an SQLAlchemy URL such as '
        "postgresql+psycopg://user@host/db (default: sqlite:///OUT/optuna.db); runs of one "
        "config pointed at one database share its study",
    )  # fmt: skip
    run.add_argument(
        "--dataset", default=None, metavar="{digits,mnist,fashion-mnist}",
        help="data to use (default: digits, bundled with scikit-learn)",
    )  # fmt: skip
    run.add_argument("--data-dir", help="folder holding the IDX files of mnist/fashion-mnist")
    run.add_argument("--architectures", default=None, help=f"comma-separated (default: {names})")
    run.add_argument("--cv", type=int, default=None, help="stratified folds (default: 3)")
    run.add_argument("--epochs", type=int, default=None, help="epochs per fit (default: 20)")
    run.add_argument("--batch-size", type=int, default=None, help="minibatch (default: 100)")
    run.add_argument(
        "--validation-fraction", type=float, default=None,
        help="share of the training data held out in the final refits for the validation "
        "loss curves (default: 0.1; 0 turns the curves off)",
    )  # fmt: skip
    run.add_argument("--n-train", type=int, help="use a stratified subsample of training rows")
    run.add_argument("--n-test", type=int, help="use a stratified subsample of test rows")
    run.add_argument(
        "--out",
        help="output folder (default: skmlp_results/<dataset>); one run at a time per folder",
    )
    run.add_argument("--n-jobs", type=int, default=1, help="parallel CV fits (default: 1)")
    run.add_argument("--random-state", type=int, default=None, help="seed (default: 0)")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="print only the results table")
    run.add_argument(
        "--track", metavar="{mlflow,tensorboard}",
        help="also log the search: an MLflow run with a child run per candidate, and/or "
        "TensorBoard event files in OUT/tensorboard (both: mlflow,tensorboard; needs "
        "pip install 'skmlp[tracking]'); a rerun continues the same MLflow run",
    )  # fmt: skip
    run.add_argument(
        "--tracking-uri", metavar="URI",
        help="the MLflow store: http(s)://HOST:PORT of a tracking server or a database URL "
        "(default: sqlite:///OUT/mlflow.db; MLFLOW_TRACKING_URI is ignored)",
    )  # fmt: skip
    run.add_argument("--backend", choices=BACKEND_PREFERENCE, help=BACKEND_HELP)


def _add_predict(sub) -> None:
    """The ``predict`` command's options."""
    pred = sub.add_parser(
        "predict",
        help="predict classes or values with a saved model",
        description="Apply a model saved by 'skmlp run' (best_model.skmlp) to the rows of an "
        "IDX file (named *ubyte or *ubyte.gz), a .npy array, an .npz holding X, or a table "
        "(.csv, .csv.gz, .parquet, .pq) of feature columns. The model's format is "
        "told from its content, not its name: .skmlp files are safe to load from anyone; a "
        "pickle (best_model.joblib) can run any code when loaded and is refused unless "
        "--trust-pickle is given.",
    )
    pred.add_argument("model", help="a model file: best_model.skmlp (safe to load)")
    pred.add_argument(
        "input", help="IDX, .npy, .npz, .csv(.gz) or .parquet file of raw features, one row each"
    )
    pred.add_argument("--proba", action="store_true", help="print class probabilities too")
    pred.add_argument("--output", help="write predictions to this .csv file instead of stdout")
    pred.add_argument(
        "--header", choices=("auto", "yes", "no"), default="auto",
        help="whether a .csv input's first row is a header (default: auto: a row of names, "
        "or pandas' 0,1,...,n-1, is a header; a row mixing numbers and text is refused)",
    )  # fmt: skip
    pred.add_argument(
        "--trust-pickle", action="store_true",
        help="also load a pickle (joblib) model file; this runs any code in the file: "
        "only for a file you made yourself",
    )  # fmt: skip
    pred.add_argument("--backend", choices=BACKEND_PREFERENCE, help=BACKEND_HELP)


def _add_export(sub) -> None:
    """The ``export`` command's options."""
    exp = sub.add_parser(
        "export",
        help="export a saved model to ONNX or a TF SavedModel, with a model card",
        description="Write a model saved by 'skmlp run' (a .skmlp file, loaded safely) as one "
        "ONNX graph of the whole pipeline (input X, float, (rows, features); outputs label and "
        "probabilities; run it with onnxruntime), or its Keras network as a TensorFlow "
        "SavedModel (TF Serving; preprocessing not included). A model the format cannot "
        "express exactly is refused, naming the step or layer.",
    )
    exp.add_argument("model", help="a .skmlp model file (best_model.skmlp of a run)")
    exp.add_argument("out", help="the .onnx file, or the SavedModel folder, to write")
    exp.add_argument("--format", choices=("onnx", "savedmodel"), default="onnx",
                     help="onnx (default): the whole pipeline; savedmodel: the network only, "
                     "for a pipeline without preprocessing (or with --network-only)")  # fmt: skip
    exp.add_argument(
        "--card", nargs="?", const="", metavar="PATH",
        help="also write a model card (Markdown with Hugging Face metadata) from the run's "
        "records beside MODEL: data and its SHA-256, search, CV and test scores, selection "
        "rule, limits (default PATH: OUT with the suffix .md)",
    )  # fmt: skip
    exp.add_argument("--force", action="store_true", help="replace OUT (and the card) if present")
    exp.add_argument("--network-only", action="store_true",
                     help="savedmodel: export the network of a pipeline, leaving its "
                     "preprocessing steps to the caller")  # fmt: skip
    exp.add_argument("--zipmap", action="store_true",
                     help="onnx: sklearn-onnx's default classifier outputs, output_label and "
                     "output_probability (lists of {class: probability}); default: tensors",
                     )  # fmt: skip
    exp.add_argument("--backend", choices=BACKEND_PREFERENCE, help=BACKEND_HELP)


def _note(message: str) -> None:
    """A line on stderr, so that stdout stays the predictions' CSV."""
    print(f"skmlp: {message}", file=sys.stderr)


def _load_model(path: str, trust_pickle: bool):
    """Load by content: a zip is an skmlp file (never unpickled); a pickle needs the opt-in."""
    from ._persistence import file_format, load, load_pickle

    if file_format(path) in ("pickle", "unknown") and trust_pickle:
        print(f"skmlp: {path}: unpickling (--trust-pickle): this runs any code in the file",
              file=sys.stderr)  # fmt: skip
        return load_pickle(path)
    return load(path)


def _run_or_join(run_experiment, config, args, out):
    """Run the experiment; ``None`` when another process reports its Optuna study."""
    from .experiment.optuna_search import StudyReportedElsewhere

    command = "skmlp " + " ".join(sys.argv[1:])
    if args.storage:  # run.json records the command: never the database's password
        from .experiment._optuna_settings import check_storage_url

        with contextlib.suppress(ValueError):  # a bad URL is refused by the run
            command = command.replace(args.storage, check_storage_url(args.storage))
    try:
        return run_experiment(
            config,
            data_dir=args.data_dir,
            out=out,
            n_jobs=args.n_jobs,
            plots=not args.no_plots,
            verbose=not args.quiet,
            command=command,
            storage=args.storage,
        )
    except StudyReportedElsewhere as exc:
        print(f"skmlp: {exc}", flush=True)
        return None


def _cmd_run(args, backend) -> int:
    from .experiment import (
        ExperimentConfig,
        check_output_dir,
        default_output_dir,
        format_results,
        load_config,
        run_experiment,
    )

    options = {
        "dataset": args.dataset,
        "architectures": args.architectures
        and [a.strip() for a in args.architectures.split(",") if a.strip()],
        "cv": args.cv,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "validation_fraction": args.validation_fraction,
        "random_state": args.random_state,
        "n_train": args.n_train,
        "n_test": args.n_test,
    }
    given = {k: v for k, v in options.items() if v is not None}
    if args.config:
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise ValueError(f"{flags}: with --config, set these in the config file")
        config = load_config(args.config)
    else:
        config = ExperimentConfig(**given)
    if args.dask_scheduler:
        config.dask_scheduler = args.dask_scheduler
    if args.track is not None:  # over the config file's [tracking]
        config.track = args.track
    if args.tracking_uri is not None:
        config.tracking_uri = args.tracking_uri
    config.validate()
    out = args.out if args.out is not None else default_output_dir(config.label)
    if Path(out).exists() and not Path(out).is_dir():
        raise NotADirectoryError(f"--out {out} is a file, not a folder; name a folder")
    check_output_dir(out)
    if not args.quiet:
        print("Keras backend: {} ({})".format(*backend), flush=True)
    result = _run_or_join(run_experiment, config, args, out)
    if result is None:  # another process reports the study
        return 0
    from ._text import terminal_safe

    lines = ["", format_results(result.results)]
    ranking = result.ranking
    if ranking is not None and (len(ranking) > len(result.results) or args.config):
        shown = ranking.head(10)
        lines.append(
            f"\ncandidates by CV ({len(shown)} best of {len(ranking)}; all in ranking.csv):"
        )
        for r in shown.itertuples():
            score = (f"CV R² {r.cv_r2_mean:.4f}" if hasattr(r, "cv_r2_mean")
                     else f"CV acc {100 * r.cv_accuracy_mean:.2f}%")  # fmt: skip
            if config.scoring and hasattr(r, f"cv_{config.scoring}_mean"):
                score = (
                    f"CV {config.scoring} {getattr(r, f'cv_{config.scoring}_mean'):.4f}, {score}"
                )
            lines.append(f"  {r.rank_cv:>3}. {r.candidate}  {score}  {r.params}")
    lines += [f"note: {n}" for n in result.unverified]
    best = result.out / "best_model.skmlp"
    ranked_by = config.scoring or (
        "R²" if result.record.get("task") == "regression" else "accuracy"
    )
    lines.append(f"\nbest by CV {ranked_by}: {result.best_architecture}  ->  {best}")
    table = "train" in result.record.get("dataset", {}).get("files", {})
    lines.append(f"predict with: skmlp predict {best} {'TABLE.csv' if table else 'IMAGES'}")
    # names, settings and labels come from config and results files: escaped
    print(terminal_safe("\n".join(lines), keep_newlines=True))
    return 0


def _cmd_predict(args, backend) -> int:
    import numpy as np

    if not Path(args.model).is_file():
        raise FileNotFoundError(f"model file {args.model} does not exist")
    if args.output and Path(args.output).is_dir():
        raise IsADirectoryError(f"--output {args.output} is a folder; give a .csv file name")
    model = _load_model(args.model, args.trust_pickle)
    if not hasattr(model, "predict"):
        raise ValueError(f"{args.model} does not hold a classifier or a regressor")
    X = _read_input(args, model)
    if not hasattr(model, "predict_proba"):  # a regressor: one number a row
        if args.proba:
            raise ValueError(f"--proba: {args.model} holds a regressor: no probabilities")
        import pandas as pd

        predictions = pd.DataFrame({"prediction": np.asarray(model.predict(X)).ravel()})
        return _write_predictions(args, predictions, backend)
    n_features = getattr(model, "n_features_in_", None)
    if not hasattr(X, "columns") and n_features is not None and X.shape[1] == n_features + 1:
        if np.array_equal(X[:, 0], np.arange(len(X))):
            raise ValueError(
                f"{args.input}: the first column looks like a row index (0, 1, 2, ...) and the "
                f"model takes {n_features} features: remove it (pandas: to_csv(index=False))"
            )
    proba = model.predict_proba(X)
    classes = model.classes_
    pred = classes[np.argmax(proba, axis=1)]
    import pandas as pd

    from ._text import csv_safe

    # labels come from the model file: never a formula in a spreadsheet, never an
    # escape sequence on a terminal (numbers and ordinary words are unchanged)
    table = pd.DataFrame({"prediction": [csv_safe(p) for p in pred.tolist()]})
    if args.proba:
        for i, c in enumerate(classes.tolist()):
            table[csv_safe(f"p_{c}")] = proba[:, i].round(6)
    return _write_predictions(args, table, backend)


def _read_input(args, model):
    """The rows to predict: a table of named columns for a model that starts with a
    :class:`~skmlp.TabularEncoder` (its fitted columns, in any order), else numbers."""
    from ._features import read_features, read_table

    first = model.steps[0][1] if hasattr(model, "steps") else model
    if type(first).__name__ != "TabularEncoder":
        return read_features(args.input, args.header, note=_note)
    if args.header == "no" or not str(args.input).lower().endswith(
        (".csv", ".csv.gz", ".parquet", ".pq")
    ):
        raise ValueError(
            f"{args.input}: {args.model} encodes a table's named columns; give a .csv (with "
            "its header) or .parquet file holding them"
        )
    from ._tabular import TabularError

    X = read_table(args.input, None, note=_note, numeric=False)
    try:
        first._aligned(X)  # its columns, named in a one-line error
    except TabularError as exc:
        raise ValueError(f"{args.input}: {exc}") from None
    return X


def _write_predictions(args, table, backend) -> int:
    """Write the predictions' table (stdout or ``--output``)."""
    if args.output:
        from ._io import atomic_write_text

        atomic_write_text(args.output, table.to_csv(index_label="row"))
        print(f"wrote {len(table)} predictions to {args.output}")
    else:
        print(table.to_csv(index_label="row"), end="")
    print("skmlp: predicted with Keras backend {} ({})".format(*backend), file=sys.stderr)
    return 0


def _cmd_export(args) -> int:
    from ._export import export

    if not Path(args.model).is_file():
        raise FileNotFoundError(f"model file {args.model} does not exist")
    card = None if args.card is None else Path(args.card or Path(args.out).with_suffix(".md"))
    out = export(args.model, args.out, args.format, card=card, zipmap=args.zipmap,
                 force=args.force, network_only=args.network_only)  # fmt: skip
    print(f"wrote {out} ({args.format})" + (f" and the model card {card}" if card else ""))
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
        if args.command == "export":
            return _cmd_export(args)
        return _cmd_run(args, backend) if args.command == "run" else _cmd_predict(args, backend)
    except (ValueError, OSError, ImportError) as exc:
        # one line, no traceback: the library's messages say the essentials first
        from ._text import terminal_safe

        message = str(exc).strip().splitlines()
        line = terminal_safe(message[0]) if message else type(exc).__name__
        print(f"skmlp: error: {line}", file=sys.stderr)  # file-supplied text escaped
        return 2
    except KeyboardInterrupt:
        from ._training.background import cancel_pending  # imports no backend

        cancel_pending()  # exit without compiling what was queued
        print("\nskmlp: interrupted; finished fits are saved, run the same command to resume",
              file=sys.stderr)  # fmt: skip
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
