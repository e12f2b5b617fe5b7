"""The documentation builds without warnings, with every gallery example executed.

The build runs on a fresh copy of ``docs/``, ``examples/`` and the benchmark results
the pages include, so that nothing left in the source tree by an earlier build (the
gallery's ``auto_examples/``, whose examples sphinx-gallery does not run again while
their source is unchanged) can stand in for this build's output; every check reads
what this build wrote.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent

# the examples whose figures sphinx-gallery renders as images (the others print)
FIGURES = ["plot_quickstart", "plot_grid_search", "plot_regression"]


@pytest.mark.skipif(
    importlib.util.find_spec("sphinx_gallery") is None, reason="docs extra not installed"
)
def test_docs_build_with_gallery(tmp_path):
    # a fresh copy: no auto_examples/, generated/ or _build/ from an earlier build
    generated = shutil.ignore_patterns(
        "_build", "auto_examples", "generated", "sg_execution_times.rst", "__pycache__"
    )
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=generated)
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=generated)
    shutil.copytree(ROOT / "benchmarks" / "results", tmp_path / "benchmarks" / "results")
    examples = sorted(p.stem for p in (tmp_path / "examples").glob("plot_*.py"))
    assert len(examples) >= 7 and set(FIGURES) <= set(examples), examples

    # the skmlp of this checkout, whatever is installed; the gallery executed
    path = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    env.pop("SKMLP_DOCS_NO_GALLERY", None)
    docs, out = tmp_path / "docs", tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         str(docs), str(out)],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    # -W turns every Sphinx warning into a failure, and a failing example aborts the
    # build (abort_on_example_error); also look for Sphinx-style "file:line: WARNING:"
    # lines (TensorFlow's own C++ log lines are not Sphinx's)
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
    ]:
        assert (out / page).is_file(), page

    # every example ran in this build: its page has its printed output, and
    # sphinx-gallery timed it (an example it did not execute gets no output block)
    gallery = docs / "auto_examples"
    for name in examples:
        html = (out / "auto_examples" / f"{name}.html").read_text(encoding="utf-8")
        assert 'class="sphx-glr-script-out' in html, f"{name}: no output in the page"
        rst = (gallery / f"{name}.rst").read_text(encoding="utf-8")
        timed = re.search(r"Total running time of the script:\*\* \((\d+) minutes ([\d.]+)", rst)
        assert timed and 60 * int(timed[1]) + float(timed[2]) > 0, f"{name}: not executed"
    quickstart = (out / "auto_examples" / "plot_quickstart.html").read_text(encoding="utf-8")
    accuracy = re.search(r"test accuracy: (0\.\d{3})", quickstart)
    assert accuracy and float(accuracy[1]) > 0.9, "the quick start's printed test accuracy"

    # the examples' figures were rendered by this build and are in its pages
    for name in FIGURES:
        image = f"sphx_glr_{name}_001.png"
        assert (gallery / "images" / image).is_file(), image
        assert (out / "_images" / image).is_file(), image
        html = (out / "auto_examples" / f"{name}.html").read_text(encoding="utf-8")
        assert f"_images/{image}" in html, f"{name}: figure not in the page"
