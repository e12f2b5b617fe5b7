"""Time the README's main job (``skmlp run``) as a whole process, before and after.

Runs ``python -m skmlp run --out DIR`` under ``/usr/bin/time`` ``--runs`` times
for each code tree given (``--tree NAME=PATH``, put first on ``PYTHONPATH``;
``NAME=.`` is this checkout), alternating the trees so that a change in the
machine's load hits both, each run into a fresh output folder. Prints a table of
wall, user and system seconds and peak memory, with the after/before ratio of
the median wall time, and writes it to ``benchmarks/results/readme_job.{md,json}``.

    python benchmarks/bench_readme_job.py --tree before=BEFORE --tree after=. --runs 3

The record names each tree by its name in capitals (``BEFORE``), this checkout ``.``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _record import ROOT, portable_command, write_results

RESULTS = Path(__file__).parent / "results"

TIME_FORMAT = "wall %e user %U sys %S maxrss %M"


def one_run(tree: Path, out: Path, extra: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = ["/usr/bin/time", "-f", TIME_FORMAT, sys.executable, "-m", "skmlp", "run",
           "--out", str(out), *extra]  # fmt: skip
    # run from the tree: ``python -m`` puts the working directory first on sys.path
    proc = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=True)
    match = re.search(r"wall ([\d.]+) user ([\d.]+) sys ([\d.]+) maxrss (\d+)", proc.stderr)
    wall, user, sys_, rss = match.groups()
    best = re.search(r"best by CV accuracy: (\w[\w-]*)", proc.stdout)
    return {"wall_s": float(wall), "user_s": float(user), "sys_s": float(sys_),
            "maxrss_mb": int(rss) / 1024, "best": best.group(1) if best else None}  # fmt: skip


def tree_placeholder(name: str, tree: Path) -> str:
    """How the record names a tree: this checkout ``.``, another its name in capitals."""
    return "." if tree == ROOT else name.upper()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tag", default="readme_job")
    parser.add_argument("--fits", type=int, help="fits a run makes (CV + refits): adds fits/minute")
    parser.add_argument("--title", default="The README's main job (`skmlp run`)")
    parser.add_argument("extra", nargs="*", help="more arguments for skmlp run")
    args = parser.parse_args(argv)
    trees = [t.split("=", 1) for t in args.tree]
    trees = [(name, Path(path).resolve()) for name, path in trees]
    runs: dict = {name: [] for name, _ in trees}
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="skmlp-readme-job-"))
    try:
        for i in range(args.runs):
            for name, tree in trees:
                result = one_run(tree, work / f"{name}-{i}", args.extra)
                runs[name].append(result)
                print(f"{name} run {i + 1}: {result}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    first = statistics.median(r["wall_s"] for r in runs[trees[0][0]])
    rows = []
    for name, tree in trees:
        rs = runs[name]
        walls = [r["wall_s"] for r in rs]
        rows.append({
            "code": name, "tree": tree_placeholder(name, tree),
            "wall_s": walls, "median_wall_s": statistics.median(walls),
            "median_user_s": statistics.median(r["user_s"] for r in rs),
            "median_sys_s": statistics.median(r["sys_s"] for r in rs),
            "max_rss_mb": round(max(r["maxrss_mb"] for r in rs)),
            "wall_ratio_to_first": round(statistics.median(walls) / first, 3),
            "best": sorted({r["best"] for r in rs}),
            "fits_per_minute": (round(60 * args.fits / statistics.median(walls), 2)
                                if args.fits else None),
        })  # fmt: skip
    header = ("| code | wall s (each run) | median wall s | median user s | median sys s "
              "| max RSS MB | wall ratio | best by CV | fits / minute |")  # fmt: skip
    lines = [header, "| " + " | ".join(["---"] * 9) + " |"]
    for r in rows:
        lines.append(
            f"| {r['code']} | {', '.join(f'{w:.2f}' for w in r['wall_s'])} | "
            f"{r['median_wall_s']:.2f} | {r['median_user_s']:.2f} | {r['median_sys_s']:.2f} | "
            f"{r['max_rss_mb']} | {r['wall_ratio_to_first']:.2f} | {', '.join(r['best'])} | "
            f"{r['fits_per_minute'] if r['fits_per_minute'] else '-'} |"
        )
    table = "\n".join(lines)
    print(table)
    from importlib.metadata import version

    def named(tree: str) -> str:  # NAME=PATH as recorded
        name, _, path = tree.partition("=")
        return f"{name}={tree_placeholder(name, Path(path).resolve())}"

    facts = {
        "command": portable_command(
            ["python", "benchmarks/bench_readme_job.py", *(argv or sys.argv[1:])],
            {"--tree": named, "--data-dir": "DIR", "--out": "OUT"},
        ),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(v, 2) for v in load_before],
            "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        },
        "versions": {n: version(n) for n in ("keras", "jax", "scikit-learn")},
        "runs_each": args.runs,
        "rows": rows,
    }
    title = f"{args.title}, /usr/bin/time, trees alternated"
    write_results(RESULTS / args.tag, title, facts, table, detail="rows")


if __name__ == "__main__":
    main()
