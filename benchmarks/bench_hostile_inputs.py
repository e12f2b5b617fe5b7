"""Hostile inputs of every surface under a peak-memory and time guard (issue 24).

Every case of ``tests/_hostile_config.py``, ``tests/_hostile_data.py``,
``tests/_hostile_models.py`` and ``tests/_hostile_records.py`` (search files, data
files, model files, results folders) writes its input into an empty folder and
names the ``python -m skmlp`` command that must refuse it. Each command runs in a
fresh process with that folder as its working and temporary folder; the resident
memory of its whole process tree is sampled every 20 ms, and the tree is killed
once it passes ``--max-mb`` (1,500) or ``--max-seconds`` (10). A case passes when
the command exits with an error of one line, within both limits.

    python benchmarks/bench_hostile_inputs.py [--code BEFORE=OLD_CHECKOUT] [--only data]

``--code NAME=DIR`` runs every case a second time against the package in another
checkout ``DIR`` (say, main before the fixes), which the guard stops as it
stops a runaway. Writes ``benchmarks/results/hostile_inputs.{json,md}``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _record import portable_command, write_results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
RESULTS = HERE / "results"
SURFACES = ("config", "data", "models", "records")


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _kill_tree(proc: psutil.Process) -> None:
    for p in [*proc.children(recursive=True), proc]:
        try:
            p.kill()
        except psutil.Error:
            pass


def guarded(args: list[str], folder: Path, code: Path, max_mb: float, max_s: float) -> dict:
    """Run ``python -m skmlp *args`` in ``folder`` under the guard; what happened."""
    env = dict(os.environ, TMPDIR=str(folder), PYTHONPATH=str(code), TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONWARNINGS="ignore")  # fmt: skip
    start, peak, stopped = time.perf_counter(), 0, None
    with open(folder / ".stderr", "w+b") as err:
        popen = subprocess.Popen([sys.executable, "-m", "skmlp", *args], cwd=folder, env=env,
                                 stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
        proc = psutil.Process(popen.pid)
        while popen.poll() is None:
            peak = max(peak, _tree_rss(proc))
            elapsed = time.perf_counter() - start
            if peak > max_mb * 2**20 or elapsed > max_s:
                stopped = "memory" if peak > max_mb * 2**20 else "time"
                _kill_tree(proc)
                popen.wait()
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        err.seek(0)
        lines = [ln for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    traceback = any(ln.startswith("Traceback") for ln in lines)
    return {
        "exit": popen.returncode,
        "seconds": round(seconds, 2),
        "peak_mb": round(peak / 2**20),
        "stopped_by_guard": stopped,
        "traceback": traceback,
        "message": last[:200],
        "refused": stopped is None
        and popen.returncode not in (0, None)
        and not traceback
        and last.startswith("skmlp: error:"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-mb", type=float, default=1500)
    parser.add_argument("--max-seconds", type=float, default=10)
    parser.add_argument("--code", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--only", choices=SURFACES, action="append")
    args = parser.parse_args()
    codes = {"after": ROOT} | {k: Path(v) for k, v in (c.split("=", 1) for c in args.code)}
    rows = []
    for surface in args.only or SURFACES:
        try:
            cases = importlib.import_module(f"_hostile_{surface}").CASES
        except ModuleNotFoundError:
            print(f"{surface}: no tests/_hostile_{surface}.py, skipped", flush=True)
            continue
        for finding, name, make in cases:
            row = {"surface": surface, "finding": finding, "case": name}
            for label, code in codes.items():
                with tempfile.TemporaryDirectory() as tmp:
                    folder = Path(tmp)
                    command = make(folder)
                    row["command"] = "skmlp " + " ".join(command)
                    row[label] = guarded(command, folder, code, args.max_mb, args.max_seconds)
            print(f"{surface} {finding} {name}: " + "; ".join(
                f"{k} {row[k]['peak_mb']} MB {row[k]['seconds']} s "
                f"{'refused' if row[k]['refused'] else row[k]['stopped_by_guard'] or 'NOT REFUSED'}"
                for k in codes), flush=True)  # fmt: skip
            rows.append(row)
    facts = {
        "what": "every hostile input under a guard of the whole process tree's resident memory",
        "command": portable_command(
            sys.argv, folders={k.upper(): v for k, v in codes.items() if k != "after"}
        ),
        "limits": {"peak_mb": args.max_mb, "seconds": args.max_seconds},
        "python": platform.python_version(),
        "machine": platform.platform(),
        "cases": len(rows),
        "all_refused_within_limits": all(r["after"]["refused"] for r in rows),
        "detail": rows,
    }
    heads = [k for k in codes if k != "after"] + ["after"]
    table = (
        "| finding | surface | case | "
        + " | ".join(f"{k}: outcome | {k}: peak MB | {k}: s" for k in heads)
        + " |\n"
    )
    table += "| --- " * (3 + 3 * len(heads)) + "|\n"
    for r in rows:
        cells = []
        for k in heads:
            o = r[k]
            what = (
                "refused"
                if o["refused"]
                else (
                    f"stopped: {o['stopped_by_guard']}"
                    if o["stopped_by_guard"]
                    else "traceback"
                    if o["traceback"]
                    else f"exit {o['exit']}"
                )
            )
            cells += [what, str(o["peak_mb"]), str(o["seconds"])]
        table += f"| {r['finding']} | {r['surface']} | {r['case']} | " + " | ".join(cells) + " |\n"
    table += "\nThe refusals (after):\n\n" + "".join(
        f"- {r['finding']} {r['case']}: `{r['after']['message']}`\n" for r in rows
    )
    write_results(RESULTS / "hostile_inputs", "Hostile inputs under a memory and time guard",
                  facts, table, "detail")  # fmt: skip
    print(table)
    sys.exit(0 if facts["all_refused_within_limits"] else 1)


if __name__ == "__main__":
    main()
