"""A model card from the records of the ``skmlp run`` that saved a model.

The card is Markdown with a metadata header between ``---`` lines, the form the
Hugging Face Hub and skops read (``README.md`` of a model repository). The header is
written one key a line, each value in JSON (YAML's flow style), so that no string
from a record can change its structure. Every record is read back through
:mod:`skmlp.experiment.records`: no link followed, a byte budget per file, every
number used checked for its type and range, one-line refusals naming the file. The
model file's SHA-256 must be the one the run recorded for it, or the card would
describe another model.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from ._network import ExportError

__all__ = ["model_card", "write_model_card"]

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _text(value, limit: int = 200) -> str:
    """A record's string as inert Markdown: one line, escapes visible, specials escaped."""
    from .._text import terminal_safe

    text = terminal_safe(str(value))[:limit]
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _fraction(value, path, what: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise ExportError(f"{path}: {what} is not a number in [0, 1]")
    return value


def _count(value, path, what: str, high: int = 10**12) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ExportError(f"{path}: {what} is not a whole number in [0, {high:g}]")
    return value


def _records(model_path: Path) -> tuple:
    """``(run folder, run.json record, results table, candidate name)``, checked."""
    from ..experiment._files import sha256_file
    from ..experiment.records import (
        RecordError,
        check_results_folder,
        plain_name,
        read_record,
        refit_record_problem,
        run_record_problem,
    )
    from ..experiment.reports import read_csv

    in_models = model_path.parent.name == "models"
    folder = model_path.parent.parent if in_models else model_path.parent
    run_path = folder / "run.json"
    if not run_path.is_file():
        raise ExportError(
            f"{model_path}: no run.json beside it; a model card is written from the records "
            "of the skmlp run that saved the model (its best_model.skmlp or models/NAME.skmlp)"
        )
    try:
        check_results_folder(folder)
        record = read_record(run_path)
        problem = run_record_problem(record)
        if problem is None and not record.get("complete"):
            problem = "the run is not complete"
        if problem:
            raise ExportError(f"{run_path}: {problem}")
        if in_models:
            name = plain_name(model_path.stem, model_path)
            refit_path = folder / "refits" / f"{name}.json"
            refit = read_record(refit_path)
            key = refit.get("key") if isinstance(refit, dict) else None
            problem = refit_record_problem(refit, key) if isinstance(key, str) else "no key"
            if problem:
                raise ExportError(f"{refit_path}: {problem}")
            expected, vouching = refit["model_sha256"], refit_path
        else:
            name = record["best_architecture"]
            expected, vouching = record["artefacts"].get(model_path.name), run_path
        if sha256_file(model_path) != expected:
            raise ExportError(f"{model_path}: its SHA-256 is not the one {vouching} records; "
                              "the card would describe another model")  # fmt: skip
        results = read_csv(folder / "results.csv")
    except RecordError as exc:
        raise ExportError(str(exc)) from None
    return folder, record, results, name


def _candidates(results, path) -> list[dict]:
    needed = ("architecture", "params", "cv_accuracy_mean", "cv_accuracy_std",
              "test_accuracy", "rank_cv")  # fmt: skip
    if any(c not in results.columns for c in needed) or not 1 <= len(results) <= 1000:
        raise ExportError(f"{path}: not a results table of skmlp (columns or rows missing)")
    rows = []
    for row in results.to_dict("records"):
        rank = row["rank_cv"]
        if isinstance(rank, float) and rank.is_integer():
            rank = int(rank)
        rows.append({
            "name": _text(row["architecture"], 100),
            "params": _text(row["params"], 300),
            "cv": _fraction(row["cv_accuracy_mean"], path, "cv_accuracy_mean"),
            "cv_std": _fraction(row["cv_accuracy_std"], path, "cv_accuracy_std"),
            "test": _fraction(row["test_accuracy"], path, "test_accuracy"),
            "rank": _count(rank if isinstance(rank, int) else None, path, "rank_cv", 10**6),
        })  # fmt: skip
    return sorted(rows, key=lambda r: r["rank"])


def _dataset(record, path) -> dict:
    data = record.get("dataset")
    if not isinstance(data, dict):
        raise ExportError(f"{path}: dataset is not a table")
    sha = data.get("sha256")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise ExportError(f"{path}: dataset.sha256 is not a SHA-256")
    files = data.get("files") if isinstance(data.get("files"), dict) else {}
    return {
        "name": str(data.get("name"))[:100],
        "sha256": sha,
        "files": {str(k)[:100]: str(v)[:300] for k, v in list(files.items())[:20]},
        **{k: _count(data.get(k), path, f"dataset.{k}") for k in ("n_train", "n_test",
                                                                    "n_features")},
    }  # fmt: skip


def _front_matter(dataset: dict, name: str, best: dict, exported) -> str:
    tags = ["skmlp", "sklearn", "keras", "tabular-classification"]
    tags += ["onnx"] if exported and str(exported).endswith(".onnx") else []
    meta = {
        "library_name": "skmlp",
        "tags": tags,
        "datasets": [dataset["name"]],
        "metrics": ["accuracy"],
        "model-index": [{"name": name, "results": [{
            "task": {"type": "tabular-classification", "name": "Tabular Classification"},
            "dataset": {"name": dataset["name"], "type": dataset["name"]},
            "metrics": [{"type": "accuracy", "value": round(best["test"], 6),
                         "name": "test accuracy"}],
        }]}],
    }  # fmt: skip
    # one key a line, each value in JSON (YAML's flow style): no record can change the form
    body = "".join(
        f"{key}: {json.dumps(value, ensure_ascii=True)}\n" for key, value in meta.items()
    )
    return f"---\n{body}---\n"


def _selection(config: dict) -> str:
    cv = config.get("cv")
    held = config.get("validation_size")
    how = (f"a validation split of {_text(held, 20)} of the training rows" if held is not None
           else f"{_text(cv, 10)}-fold stratified cross-validation")  # fmt: skip
    return (
        f"Search: {_text(config.get('search'), 40)} over the candidates below, {how} on the "
        f"training set, {_text(config.get('epochs'), 10)} epochs per fit. The model is the "
        "candidate with the best mean cross-validated accuracy; the test set was scored once "
        "per reported candidate, for this report, and never used to choose."
    )


def model_card(model_path, exported=None) -> str:
    """The model card of a model saved by ``skmlp run``, as Markdown.

    Parameters
    ----------
    model_path : str or path-like
        ``best_model.skmlp`` (or ``models/NAME.skmlp``) in a run's output folder.
    exported : str or path-like or None, default=None
        The exported file the card accompanies (named, with its SHA-256).

    Returns
    -------
    str
        Markdown with a metadata header (Hugging Face Hub, skops).

    Raises
    ------
    ValueError
        No records beside the model, a record that is refused, or a model whose
        SHA-256 is not the recorded one: one line naming the file.
    """
    from ..experiment._files import sha256_file

    model_path = Path(model_path)
    folder, record, results, name = _records(model_path)
    path = folder / "results.csv"
    rows = _candidates(results, path)
    best = next((r for r in rows if r["name"] == _text(name, 100)), None)
    if best is None:
        raise ExportError(f"{path}: has no row for {name}, the model's candidate")
    dataset = _dataset(record, folder / "run.json")
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    lines = [_front_matter(dataset, name, best, exported),
             f"# {_text(dataset['name'])} classifier: {best['name']} (skmlp)", "",
             f"A scikit-learn pipeline ending in skmlp's `MLPClassifier` (a Keras network), "
             f"chosen by `skmlp run`. Settings: {best['params']}.", "", "## Files", "",
             f"- `{model_path.name}`: SHA-256 `{sha256_file(model_path)}` (checked against "
             "the run's record when this card was written)"]  # fmt: skip
    if exported is not None and Path(exported).is_file():
        lines.append(f"- `{_text(Path(exported).name)}`: SHA-256 `{sha256_file(exported)}` "
                     "(ONNX: input `X`, float, (rows, features); outputs `label`, "
                     "`probabilities`)")  # fmt: skip
    lines += ["", "## Data", "",
              f"- {dataset['name'] and _text(dataset['name'])}: {dataset['n_train']} training "
              f"rows, {dataset['n_test']} test rows, {dataset['n_features']} features",
              f"- SHA-256 of the data: `{dataset['sha256']}`"]  # fmt: skip
    lines += [f"- file `{_text(k)}`: {_text(v)}" for k, v in dataset["files"].items()]
    lines += ["", "## Search, scores and selection", "", _selection(config), "",
              "| rank by CV | candidate | CV accuracy (mean ± std) | test accuracy | settings |",
              "| ---: | --- | ---: | ---: | --- |"]  # fmt: skip
    lines += [f"| {r['rank']} | {r['name']}{' (this model)' if r is best else ''} | "
              f"{100 * r['cv']:.2f}% ± {100 * r['cv_std']:.2f} | {100 * r['test']:.2f}% | "
              f"{r['params']} |" for r in rows]  # fmt: skip
    backend = _text(record.get("keras_backend"), 20)
    lines += ["", "## Limits", "",
              f"- Trained and scored on {_text(dataset['name'])} only; accuracy on other data "
              "is unknown. Inputs must be raw features in the training data's order and "
              "units: the pipeline's preprocessing is part of the model.",
              "- The scores are read back from the run's records (results.csv, run.json), "
              "not recomputed here; `skmlp run` with the same `--out` recomputes the train and "
              "test scores from the saved models and refuses records that disagree.",
              f"- Trained with Keras on {backend}. An exported ONNX graph computes in float32; "
              "skmlp's tests hold its probabilities within 1e-5 of skmlp's own."]  # fmt: skip
    notes = record.get("unverified") if isinstance(record.get("unverified"), list) else []
    lines += [f"- Note from the run: {_text(n, 400)}" for n in notes[:10]]
    return "\n".join(lines) + "\n"


def write_model_card(model_path, card_path, exported=None, force=False) -> Path:
    """Write :func:`model_card` to ``card_path`` (never through a link).

    Parameters
    ----------
    model_path : str or path-like
        The run's model file.
    card_path : str or path-like
        The Markdown file to write (``README.md`` of a Hugging Face model repository).
    exported : str or path-like or None, default=None
        The exported file the card accompanies.
    force : bool, default=False
        Replace an existing ``card_path``.

    Returns
    -------
    pathlib.Path
        ``card_path``.
    """
    from .._io import atomic_write_text
    from ._out import check_out

    card = model_card(model_path, exported)
    return atomic_write_text(check_out(card_path, force), card)
