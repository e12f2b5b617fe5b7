"""Peak memory of loading hostile model files, against loading a legitimate small model.

Every hostile file of ``tests/_hostile.py`` (generated here from one small fitted
pipeline, with ``--scale`` times the declared sizes the tests use) is loaded with
``skmlp.load`` in a fresh Python process; the process's peak resident memory
(``VmHWM``, Linux) is compared with that of a process loading the legitimate file.
Each process gets an empty ``TMPDIR``, checked empty again afterwards, and the
folder holding the file is checked to hold nothing else.

    python benchmarks/bench_hostile_files.py [--scale 4]

Prints a table and writes ``benchmarks/results/hostile_files_<backend>.{json,md}``.
The claim it checks: every hostile file peaks at no more than twice the memory of
the legitimate load, and leaves nothing on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

# VmHWM: the peak resident set of this process's own memory since exec (ru_maxrss
# would start from the parent's size at fork, on Linux)
CHILD = r"""
import json, sys
import skmlp
path = sys.argv[1]
try:
    skmlp.load(path)
    outcome, message = "loaded", ""
except Exception as exc:
    outcome, message = type(exc).__name__, str(exc).splitlines()[0][:160]
with open("/proc/self/status") as f:
    peak_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "message": message, "peak_kb": peak_kb}))
"""


def _measure(path: Path, backend: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TMPDIR=tmp, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
                   OMP_NUM_THREADS="1")  # fmt: skip
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env,
                              capture_output=True, text=True)  # fmt: skip
        seconds = time.perf_counter() - start
        left = sorted(os.listdir(tmp))
    if proc.returncode != 0:
        raise RuntimeError(f"{path.name}: the child failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    beside = sorted(p.name for p in path.parent.iterdir() if p != path)
    return result | {"seconds": round(seconds, 2), "tmp_left": left, "beside_left": beside}


def _legit_model(folder: Path) -> bytes:
    from sklearn.exceptions import ConvergenceWarning

    import skmlp
    from skmlp.datasets import load_digits
    from skmlp.experiment import make_pipeline

    digits = load_digits()
    pipe = make_pipeline(16, max_iter=1, hidden_layer_sizes=(8,), batch_norm=True, dropout=0.1,
                         random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(digits.X_train, digits.y_train)
    return skmlp.save(pipe, folder / "legit.skmlp").read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4,
                        help="declared sizes, in multiples of the tests' (default: 4)")  # fmt: skip
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"))
    args = parser.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from _hostile import hostile_files
    from _record import portable_text, write_results

    rows = []
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        legit = _legit_model(work)
        cases = {"(legitimate)": (legit, "")} | hostile_files(legit, scale=args.scale)
        for name, (data, _) in cases.items():
            folder = work / name
            folder.mkdir()
            path = folder / "model.skmlp"
            path.write_bytes(data)
            rows.append({"case": name, "file_bytes": len(data)} | _measure(path, args.backend))
            rows[-1]["message"] = portable_text(rows[-1]["message"], {"TMP": work})
            print(f"  {name}: {rows[-1]['outcome']}, {rows[-1]['peak_kb'] / 1024:.0f} MB",
                  flush=True)  # fmt: skip
    base = rows[0]["peak_kb"]
    for row in rows:
        row["ratio"] = round(row["peak_kb"] / base, 3)
    head = "| case | file (bytes) | outcome | peak RSS (MB) | vs legit | temp files left |"
    lines = [head, "|" + " --- |" * 6]
    for r in rows:
        left = len(r["tmp_left"]) + len(r["beside_left"])
        lines.append(f"| {r['case']} | {r['file_bytes']:,} | {r['outcome']} "
                     f"| {r['peak_kb'] / 1024:.0f} | {r['ratio']:.2f} | {left} |")  # fmt: skip
    table = "\n".join(lines)
    hostile = rows[1:]
    facts = {
        "what": "peak RSS (VmHWM) of a fresh process running skmlp.load on each file",
        "backend": args.backend,
        "scale": args.scale,
        "python": platform.python_version(),
        "machine": platform.platform(),
        "legit_peak_mb": round(base / 1024, 1),
        "max_hostile_ratio": max(r["ratio"] for r in hostile),
        "all_refused": all(r["outcome"] == "ModelFileError" for r in hostile),
        "nothing_left_on_disk": not any(r["tmp_left"] or r["beside_left"] for r in rows),
        "rows": rows,
    }
    print()
    print(table)
    print(f"\nmax hostile/legit peak: {facts['max_hostile_ratio']:.2f} (claim: <= 2); "
          f"all refused with ModelFileError: {facts['all_refused']}; "
          f"nothing left on disk: {facts['nothing_left_on_disk']}")  # fmt: skip
    write_results(HERE / "results" / f"hostile_files_{args.backend}",
                  "Loading hostile model files: peak memory", facts, table, "rows")  # fmt: skip


if __name__ == "__main__":
    main()
