"""The documentation builds without warnings, with every gallery example executed."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"


@pytest.mark.skipif(
    importlib.util.find_spec("sphinx_gallery") is None, reason="docs extra not installed"
)
def test_docs_build_with_gallery(tmp_path):
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         str(DOCS), str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    # -W turns every Sphinx warning into a failure; also look for Sphinx-style
    # "file:line: WARNING:" lines (TensorFlow's own C++ log lines are not Sphinx's)
    problems = re.findall(r"^.*: (?:WARNING|ERROR|CRITICAL): .*$", proc.stderr, re.MULTILINE)
    assert proc.returncode == 0 and not problems, proc.stderr[-4000:]
    for page in [
        "index.html",
        "user_guide.html",
        "api.html",
        "results.html",
        "changelog.html",
        "generated/skmlp.MLPClassifier.html",
        "auto_examples/index.html",
        "auto_examples/plot_quickstart.html",
        "auto_examples/plot_grid_search.html",
        "auto_examples/plot_seed_architectures.html",
        "auto_examples/plot_loss_curves_weights.html",
        "auto_examples/plot_save_load.html",
        "auto_examples/plot_config_search.html",
    ]:
        assert (out / page).is_file(), page
    # the examples ran: their figures were rendered
    assert list((DOCS / "auto_examples" / "images").glob("sphx_glr_plot_quickstart_*.png"))
