"""The experiment: candidates chosen by cross-validation, reported once on the test set.

:func:`run_experiment` is the seed notebook done right. It runs a search (by
default a :class:`~sklearn.model_selection.GridSearchCV` over the seed's six
architectures; any grid, random or successive-halving search a config names,
see :mod:`skmlp.experiment.config`) over a ``scaler -> MLPClassifier`` pipeline,
validated on the training set only (stratified folds or one stratified split);
ranks the candidates by CV; refits the ``report_top`` best on the whole training
set (holding out ``validation_fraction`` of it for the loss curves), scores each
once on the test set, picks the best by cross-validated accuracy (never by test
score) and saves everything to a folder:

``results.csv`` / ``results.md``
    One row per reported candidate: settings, widths, batch norm, dropout,
    parameters, CV accuracy (mean, std), CV log-loss, train and test loss and
    accuracy, fit times; ``results.md`` then ranks every candidate by CV.
``ranking.csv``
    Every candidate's CV scores at the last round it reached, best first.
``cv_results.csv``
    The search's ``cv_results_``, one row per candidate (and round) and a column
    per fold.
``run.json``
    What ran: dataset and checksum, configuration, versions, Keras backend, seeds,
    timings, command line.
``best_model.skmlp``, ``best_model.joblib``
    The chosen pipeline, which takes raw pixels: in skmlp's pickle-free format
    (:func:`skmlp.save`), safe to share and to load, and as a joblib pickle for
    your own use (loading a pickle can run code: never load one you did not make).
    ``run.json`` records the SHA-256 of both.
``test_split.json``
    For data without a test set, the stratified test split made on the first
    run, reused from here by every later one.
``plots/``
    Loss curves, weight distributions, CV accuracy with error bars (PNG).

The package's modules each hold one concern: :mod:`~skmlp.experiment.config` (what
runs, search files), :mod:`~skmlp.experiment.data` (the data),
:mod:`~skmlp.experiment.search` (resumable searches and the ranking),
:mod:`~skmlp.experiment.reports` (tables, plots, the result) and
:mod:`~skmlp.experiment.run` (the run itself).

Every finished fit is stored under ``fits/`` (CV) and ``refits/`` (final models)
the moment it ends, each file written atomically. Running the same command again
after an interruption reuses them; a finished run returns at once. Reused models are
stored in the safe format and checked against the SHA-256 in their record; one that
does not match is refitted, never trusted. One run at a time may use a folder: a
lock file (``.skmlp-run.lock``) names the run holding it, and a lock left by a run
that was killed is recognised and taken over.
"""

from ._files import check_output_dir, default_output_dir
from .config import SEED_CONFIG, SEED_SETTINGS, ConfigError, ExperimentConfig, load_config
from .reports import ExperimentResult, format_results
from .run import make_pipeline, run_experiment
from .search import make_search

__all__ = [
    "SEED_CONFIG",
    "SEED_SETTINGS",
    "ConfigError",
    "ExperimentConfig",
    "ExperimentResult",
    "check_output_dir",
    "default_output_dir",
    "format_results",
    "load_config",
    "make_pipeline",
    "make_search",
    "run_experiment",
]
