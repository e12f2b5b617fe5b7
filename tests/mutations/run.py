"""Mutation check: break each feature in a copy of the repository and watch its test fail.

Run from the repository root::

    python tests/mutations/run.py                 # every mutation
    python tests/mutations/run.py --list          # names, files and tests
    python tests/mutations/run.py NAME [NAME...]  # some of them
    python tests/mutations/run.py --repo DIR      # another checkout's tests and code

Each mutation in :data:`tests.mutations.catalog.MUTATIONS` is the smallest edit that
removes one feature, paired with the test(s) that claim the feature. The script copies
the repository once into a temporary folder, runs every paired test there on the
unchanged code (they must pass, or the script stops: a failing test "catches"
anything), then applies one edit at a time, runs its tests with the copy first on
``sys.path``, and puts the file back. It prints one line per mutation::

    caught NAME by TEST     the test failed with the feature removed
    missed NAME             every paired test passed with the feature removed
    missed NAME (no test)   the paired test does not exist in that checkout
    missed NAME (the edit does not apply there: ...)
                            that checkout lacks the code the feature lives in

and a last line ``N caught, M missed``. Its exit status is 0 when every mutation was
caught. ``--repo`` points it at another checkout (for example an older commit made
with ``git worktree add``), whose own code and tests are mutated and run, so that the
same table shows what an older suite missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from catalog import MUTATIONS, Mutation  # noqa: E402

#: What the copy needs: the package, the tests and the pytest settings.
COPIED = ("skmlp", "tests", "pyproject.toml", "docs", "examples", "benchmarks")
#: Seconds one mutation's tests may run before it counts as caught by a time-out.
TIMEOUT = 600


def _copy(repo: Path, into: Path) -> Path:
    dest = into / "repo"
    dest.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "_build", "auto_examples", "*.pyc")
    for name in COPIED:
        src = repo / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore, symlinks=True)
        elif src.is_file():
            shutil.copy2(src, dest / name)
    return dest


def _env(copy: Path, backend: str | None = None) -> dict:
    env = dict(os.environ)
    # the copy's skmlp, not the installed (editable) one
    env["PYTHONPATH"] = os.pathsep.join([str(copy), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if backend:
        env["KERAS_BACKEND"] = backend
    return env


def _pytest(copy: Path, tests, env, timeout=TIMEOUT):
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
           "--no-header", "-o", "addopts=--doctest-modules", *tests]  # fmt: skip
    try:
        proc = subprocess.run(
            cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    return proc.returncode, proc.stdout[-3000:] + proc.stderr[-2000:]


def _check_isolation(copy: Path) -> None:
    code = "import skmlp, sys; sys.stdout.write(skmlp.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=copy, env=_env(copy),
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if not Path(out).resolve().is_relative_to(copy.resolve()):
        sys.exit(f"run.py: the copy imports skmlp from {out}, not from the copy; stopping")


def _apply(path: Path, mutation: Mutation) -> str:
    text = path.read_text() if path.is_file() else ""
    count = text.count(mutation.old)
    if count != 1:
        raise LookupError(f"{mutation.path}: the text to replace occurs {count} times, not once")
    path.write_text(text.replace(mutation.old, mutation.new))
    return text


def _present(copy: Path, tests) -> list[str]:
    """The paired tests that exist in ``copy`` (an older checkout may lack some).

    Read from the source (a test function of that name in that file), which is
    much quicker than asking pytest to collect each one.
    """
    found = []
    for test in tests:
        file, _, name = test.partition("::")
        # a test function, or a doctest named by its dotted object (module.function)
        name = name.split("::")[-1].split("[")[0].split(".")[-1]
        path = copy / file
        if path.is_file() and (not name or f"def {name}(" in path.read_text()):
            found.append(test)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--repo", type=Path, default=HERE.parent.parent,
                        help="checkout to mutate and test (default: this one)")  # fmt: skip
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    args = parser.parse_args(argv)

    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutations: {', '.join(sorted(unknown))}")
    if args.list:
        for m in chosen:
            print(f"{m.name}: {m.path} -> {' '.join(m.tests)}")
        return 0

    repo = args.repo.resolve()
    with tempfile.TemporaryDirectory(prefix="skmlp-mutations-") as tmp:
        copy = _copy(repo, Path(tmp))
        _check_isolation(copy)
        # the paired tests that exist there, each backend's on its own
        present: dict[str, list[str]] = {}
        for m in chosen:
            present[m.name] = _present(copy, m.tests)
        by_backend: dict[str | None, set[str]] = {}
        for m in chosen:
            by_backend.setdefault(m.backend, set()).update(present[m.name])
        for backend, tests in by_backend.items():
            if not tests:
                continue
            rc, out = _pytest(copy, sorted(tests), _env(copy, backend))
            if rc != 0:
                print(out)
                sys.exit(f"run.py: the paired tests fail on the unchanged code "
                         f"(backend {backend or 'default'}); fix them first")  # fmt: skip

        caught = missed = 0
        for m in chosen:
            tests = present[m.name]
            if not tests:
                print(f"missed {m.name} (no test)", flush=True)
                missed += 1
                continue
            target = copy / m.path
            start = time.monotonic()
            try:
                original = _apply(target, m)
            except LookupError as exc:
                # an older checkout without the code the feature lives in
                print(f"missed {m.name} (the edit does not apply there: {exc})", flush=True)
                missed += 1
                continue
            try:
                rc, out = _pytest(copy, tests, _env(copy, m.backend))
            finally:
                target.write_text(original)
            seconds = time.monotonic() - start
            if rc == 0:
                print(f"missed {m.name} ({seconds:.0f} s)", flush=True)
                missed += 1
            else:
                failed = [
                    line.split(" ", 1)[1].split(" - ")[0]
                    for line in out.splitlines()
                    if line.startswith(("FAILED ", "ERROR "))
                ]
                by = failed[0] if failed else (out.strip().splitlines() or ["?"])[-1]
                print(f"caught {m.name} by {by} ({seconds:.0f} s)", flush=True)
                caught += 1
    print(f"{caught} caught, {missed} missed")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
