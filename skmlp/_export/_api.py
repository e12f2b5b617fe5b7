"""``skmlp.export``: a fitted model (or a ``.skmlp`` file) to ONNX or a TF SavedModel."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ._network import ExportError
from ._out import check_out

__all__ = ["FORMATS", "check_out", "export"]

#: The formats :func:`export` writes.
FORMATS = ("onnx", "savedmodel")


def _source(model):
    """``(fitted model, name for errors, SHA-256 of its file or None)``."""
    if isinstance(model, str | os.PathLike):
        from .._persistence import load

        path = Path(model)
        fitted = load(path)  # the safe loader: budgets, no pickle, Keras' own layers only
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        return fitted, str(path), digest
    from sklearn.utils.validation import check_is_fitted

    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if not hasattr(final, "model_"):
        raise ExportError(
            f"{type(final).__name__}: not a fitted skmlp estimator; export takes skmlp's "
            "MLPClassifier and MLPRegressor, alone or at the end of a pipeline"
        )
    check_is_fitted(final)
    return model, type(model).__name__, None


def _write_onnx(model, out: Path, where: str, digest, zipmap, target_opset) -> None:
    from .. import __version__
    from .._io import atomic_write_bytes
    from ._onnx import onnx_model

    # first: without the export extra, this names the missing install in one line
    proto = onnx_model(model, where, zipmap=zipmap, target_opset=target_opset)
    import onnx

    props = {"skmlp_version": __version__}
    if digest is not None:
        props["source_sha256"] = digest
    onnx.helper.set_model_props(proto, props)
    atomic_write_bytes(out, proto.SerializeToString())


def _write_savedmodel(model, out: Path, where: str, network_only: bool) -> None:
    import importlib.util

    from .._io import TEMP_MARK

    steps = model.steps[:-1] if hasattr(model, "steps") else []
    kept = [(n, s) for n, s in steps if s not in (None, "passthrough")]
    if kept and not network_only:
        name, step = kept[0]
        raise ExportError(
            f"{where}: a SavedModel holds the Keras network alone, and step {name!r} "
            f"({type(step).__name__}) would be left out; export to ONNX (the whole pipeline), "
            "or pass --network-only (network_only=True) and apply that step yourself"
        )
    if importlib.util.find_spec("tensorflow") is None:
        raise ExportError("--format savedmodel needs TensorFlow (pip install tensorflow)")
    network = (model.steps[-1][1] if hasattr(model, "steps") else model).model_
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.{os.getpid()}.",
                                suffix=TEMP_MARK))  # fmt: skip
    try:
        network.export(str(tmp / "model"), format="tf_saved_model", verbose=False)
        if out.exists():  # a SavedModel (check_out): set aside, removed with tmp
            os.replace(out, tmp / "replaced")
        os.replace(tmp / "model", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export(model, out, format="onnx", *, card=None, zipmap=False, target_opset=None,
           force=False, network_only=False) -> Path:  # fmt: skip
    """Export a fitted skmlp model for serving: ONNX, or a TensorFlow SavedModel.

    ``format="onnx"`` writes the whole fitted pipeline as one ONNX graph through
    sklearn-onnx: skmlp's :class:`~skmlp.PixelScaler`, what sklearn-onnx converts
    (scikit-learn's scalers, encoders, imputers, column transformers), and the
    network from its fitted Keras weights, in inference mode (batch normalisation's
    moving statistics folded into the next layer, dropout left out). The graph takes
    one float tensor ``X`` of shape ``(rows, n_features)``. A classifier's outputs
    are ``label`` (int64 or string labels; for multilabel targets an int64
    indicator matrix) and ``probabilities`` (float, in the order of ``classes_``),
    as sklearn-onnx's ``MLPClassifier`` gives them with ``zipmap=False``; a
    regressor's is ``variable``, ``(rows, n_outputs)``.

    ``format="savedmodel"`` writes the Keras network alone with
    :meth:`keras.Model.export` (TensorFlow Serving; needs TensorFlow): its
    ``serve`` signature returns the network's output layer (class probabilities
    for a multiclass classifier, the positive class's probability for a binary
    one). A pipeline with preprocessing steps is refused unless
    ``network_only=True``, because the SavedModel would not apply them.

    Parameters
    ----------
    model : estimator, Pipeline, str or path-like
        A fitted :class:`~skmlp.MLPClassifier` or :class:`~skmlp.MLPRegressor`,
        alone or at the end of a pipeline, or a ``.skmlp`` file (loaded with
        :func:`skmlp.load`, which never unpickles).
    out : str or path-like
        The ``.onnx`` file, or the SavedModel folder, to write. Never written
        through a symbolic link.
    format : {"onnx", "savedmodel"}, default="onnx"
        What to write.
    card : str, path-like or None, default=None
        Also write a model card there (Markdown with the metadata header the
        Hugging Face Hub and skops read): the data and its SHA-256, the search, the
        CV and test scores, the selection rule and the limits, from the records of
        the ``skmlp run`` whose output folder holds ``model`` (a path:
        ``best_model.skmlp`` or ``models/NAME.skmlp``). The records are checked,
        and the model's SHA-256 must be the one they vouch for, before anything
        is written.
    zipmap : bool or "columns", default=False
        ONNX only: sklearn-onnx's option for classifiers. ``False`` gives tensor
        outputs ``label`` and ``probabilities``; ``True`` gives sklearn-onnx's
        default, ``output_label`` and ``output_probability``, a list of
        ``{class: probability}`` dictionaries (slower).
    target_opset : int or None, default=None
        ONNX only: the opset; ``None``: the newest sklearn-onnx supports.
    force : bool, default=False
        Replace an existing ``out`` (a SavedModel folder only if it holds one).
    network_only : bool, default=False
        SavedModel only: export the network of a pipeline whose preprocessing
        steps it leaves out.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    ValueError
        The model cannot be expressed exactly (a step sklearn-onnx cannot convert,
        a layer or activation without an exact ONNX form, labels that are neither
        whole numbers nor strings), or ``out`` exists or is a link: one line
        naming it. A :class:`~skmlp.ModelFileError` for a ``.skmlp`` file that
        does not load.
    ImportError
        sklearn-onnx, onnx or TensorFlow is missing.

    Examples
    --------
    >>> import numpy as np, skmlp  # doctest: +SKIP
    >>> skmlp.export("results/best_model.skmlp", "model.onnx")  # doctest: +SKIP
    >>> import onnxruntime as ort  # doctest: +SKIP
    >>> session = ort.InferenceSession("model.onnx")  # doctest: +SKIP
    >>> label, proba = session.run(None, {"X": X[:1].astype(np.float32)})  # doctest: +SKIP
    """
    if format not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    out = check_out(out, force, folder=format == "savedmodel")
    if card is not None:
        from ._card import model_card

        if not isinstance(model, str | os.PathLike):
            raise ExportError("card: a model card needs the model's file in a run's folder")
        check_out(card, force)
        model_card(model)  # the records checked before anything is written
    fitted, where, digest = _source(model)
    if format == "onnx":
        _write_onnx(fitted, out, where, digest, zipmap, target_opset)
    else:
        _write_savedmodel(fitted, out, where, network_only)
    if card is not None:
        from ._card import write_model_card

        write_model_card(model, card, exported=out, force=force)
    return out
