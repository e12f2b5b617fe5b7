"""Sphinx configuration of the skmlp documentation.

Build: ``make -C docs html`` (warnings are errors; the example gallery is executed).
"""

import os
import sys
import zlib
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

import skmlp  # noqa: E402

project = "skmlp"
author = "skmlp developers"
copyright = "2026, skmlp developers"
release = version = skmlp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
autosummary_generate = True
# scikit-learn's generated set_*_request methods document metadata routing, whose
# glossary links only resolve inside scikit-learn's own docs.
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": ", ".join(
        f"set_{m}_request" for m in ("fit", "partial_fit", "score", "predict", "transform")
    ),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
html_theme = "pydata_sphinx_theme"
html_title = f"skmlp {release}"
html_theme_options = {"navigation_with_keys": False}
html_show_sourcelink = False
# single-page sections need no left sidebar; it only narrowed their tables
html_sidebars = {page: [] for page in ("index", "user_guide", "results", "changelog")}

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    # an example whose source is unchanged since the last build in this tree is not
    # run again (quick rebuilds); tests/test_docs.py builds a fresh copy, so it runs all
    "run_stale_examples": False,
}
# SKMLP_DOCS_NO_GALLERY=1 builds the pages without executing the examples (quick check)
if os.environ.get("SKMLP_DOCS_NO_GALLERY"):
    sphinx_gallery_conf["plot_gallery"] = "False"

# ---------------------------------------------------------------- intersphinx
# The remote inventory is tried first; offline (CI, air-gapped machines) Sphinx
# falls back to a small local inventory of the names these pages link to, so the
# links resolve and the build stays warning-free either way. Keras publishes no
# Sphinx inventory at all, so its entry is local only.
_LINKS = {
    "python": ("https://docs.python.org/3/", {
        "pickle": ("py:module", "library/pickle.html#module-pickle"),
    }),
    "sklearn": ("https://scikit-learn.org/stable/", {
        "sklearn.neural_network.MLPClassifier": ("py:class", "modules/generated/$.html#$"),
        "sklearn.model_selection.GridSearchCV": ("py:class", "modules/generated/$.html#$"),
        "sklearn.model_selection.StratifiedKFold": ("py:class", "modules/generated/$.html#$"),
        "sklearn.pipeline.Pipeline": ("py:class", "modules/generated/$.html#$"),
        "sklearn.preprocessing.MinMaxScaler": ("py:class", "modules/generated/$.html#$"),
        "sklearn.utils.Bunch": ("py:class", "modules/generated/$.html#$"),
    }),
    "numpy": ("https://numpy.org/doc/stable/", {
        "numpy.random.RandomState": ("py:class", "reference/random/legacy.html#$"),
        "numpy.ndarray": ("py:class", "reference/generated/$.html#$"),
    }),
    "pandas": ("https://pandas.pydata.org/docs/", {
        "pandas.DataFrame": ("py:class", "reference/api/$.html#$"),
    }),
    "joblib": ("https://joblib.readthedocs.io/en/stable/", {
        "joblib.dump": ("py:function", "generated/$.html#$"),
        "joblib.load": ("py:function", "generated/$.html#$"),
    }),
    "matplotlib": ("https://matplotlib.org/stable/", {
        "matplotlib.figure.Figure": ("py:class", "api/_as_gen/$.html#$"),
    }),
    "keras": ("https://keras.io/api/", {
        "keras.Model": ("py:class", "models/model/"),
        "keras.layers.BatchNormalization": ("py:class",
                                            "layers/normalization_layers/batch_normalization/"),
        "keras.layers.Dropout": ("py:class", "layers/regularization_layers/dropout/"),
        "keras.regularizers.L2": ("py:class", "layers/regularizers/"),
        "keras.initializers.RandomNormal": ("py:class", "layers/initializers/"),
        "keras.utils.set_random_seed": ("py:function", "utils/python_utils/"),
        "keras.saving.load_model": ("py:function",
                                    "models/model_saving_apis/model_saving_and_loading/"),
    }),
}  # fmt: skip


def _write_inventory(name: str, entries: dict) -> str:
    lines = []
    for obj, (role, uri) in entries.items():
        lines.append(f"{obj} {role} 1 {uri} -")
    header = (
        f"# Sphinx inventory version 2\n# Project: {name}\n# Version: local\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path = HERE / "_build" / "inventories" / f"{name}.inv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header.encode() + zlib.compress(("\n".join(lines) + "\n").encode()))
    return str(path)


intersphinx_mapping = {}
for _name, (_url, _entries) in _LINKS.items():
    _local = _write_inventory(_name, _entries)
    _offline = _name == "keras" or os.environ.get("SKMLP_DOCS_OFFLINE")
    intersphinx_mapping[_name] = (_url, (_local,) if _offline else (None, _local))
intersphinx_timeout = 5
