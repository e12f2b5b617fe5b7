"""The mutation catalog stays applicable: every edit finds its text, every test exists.

Running the mutations themselves takes about 15 minutes on 2 cores (one pytest
process per mutation), so the default run does not: ``python tests/mutations/run.py``
does (see CONTRIBUTING.md). This check keeps the catalog from rotting
when the code it edits moves.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "mutations"))

from catalog import MUTATIONS  # noqa: E402
from run import _present  # noqa: E402


def test_names_are_unique():
    names = [m.name for m in MUTATIONS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_each_mutation_applies_once_and_names_existing_tests(mutation):
    text = (ROOT / mutation.path).read_text()
    assert text.count(mutation.old) == 1, f"{mutation.path}: {mutation.old!r}"
    assert mutation.new != mutation.old
    assert _present(ROOT, mutation.tests) == list(mutation.tests)
