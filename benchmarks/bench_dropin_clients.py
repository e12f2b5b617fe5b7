"""Client programs with scikit-learn's MLP and with skmlp's: outcome, score, wall time.

Each client in ``dropin_clients/`` is code a scikit-learn user writes (gallery examples
that use an MLP, the tools around an estimator, habits of scikeras/skorch users), run
once with ``sklearn.neural_network``'s classes and once with ``skmlp``'s, as a user who
swaps the import. Every run is a fresh subprocess (``--timeout`` seconds at most):
scikit-learn's side runs the client for ``--seeds`` random states (0, 1, ...), skmlp's
side for random state 0 (``--skmlp-seeds``: more), from each code tree given
(``--tree NAME=PATH``, put first on ``PYTHONPATH``; default ``after=.``) on the Keras
backend of ``KERAS_BACKEND``.

Outcome of a client on skmlp's side:

- ``FAIL``: it raised (the exception's first line) or ran past the timeout;
- ``NOT-MLP``: scikit-learn's side never fitted an MLP (the client needs no swap);
- ``DIFF``: its score is further from the mean of scikit-learn's scores over the seeds
  than ``max(2 * sd, floor)`` (``sd``: their standard deviation, ``floor``: ``--floor``);
- ``PASS`` otherwise.

Wall times are the client's own seconds in its process (imports excluded, the first
fit's compiling included), random state 0 on both sides; each process also records its
whole wall time. JAX's compilation cache (``SKMLP_COMPILATION_CACHE``) points at a new
empty folder for each run of this script, shared by its clients.

Usage::

    KERAS_BACKEND=jax python benchmarks/bench_dropin_clients.py --tree before=BEFORE --tree after=.

Writes ``benchmarks/results/dropin_clients_<backend>.{json,md}``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from _record import portable, portable_command, write_results

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MARK = "@@dropin-client@@ "


@contextlib.contextmanager
def _count_fits(classes, counter: list):
    """While open, each call of ``fit``/``partial_fit`` of ``classes`` adds 1 to counter[0].

    The classes' own attributes are put back on exit (a test runs clients in-process).
    """
    saved = [(cls, name, cls.__dict__.get(name, _MISSING))
             for cls in classes for name in ("fit", "partial_fit")]  # fmt: skip
    for cls, name, _ in saved:
        original = getattr(cls, name)

        @functools.wraps(original)
        def wrapper(self, *args, _original=original, **kwargs):
            counter[0] += 1
            return _original(self, *args, **kwargs)

        setattr(cls, name, wrapper)
    try:
        yield
    finally:
        for cls, name, own in saved:
            if own is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, own)


_MISSING = object()


def run_client(fn, classes, seeds) -> list[dict]:
    """Run client ``fn`` with ``classes`` (MLPClassifier, MLPRegressor) for each seed.

    Returns one record per seed: score, the client's other facts, seconds, MLP fits in
    this process, warnings by category (ConvergenceWarning apart), or the error.
    """
    counter, rows = [0], []
    with _count_fits(classes, counter):
        for seed in seeds:
            rows.append(_run_seed(fn, classes, seed, counter))
    return rows


def _run_seed(fn, classes, seed, counter) -> dict:
    row, start = {"seed": seed}, time.perf_counter()
    counter[0] = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*classes, seed)
            result = result if isinstance(result, dict) else {"score": result}
            row["score"] = float(result.pop("score"))
            row["facts"] = json.loads(json.dumps(result, default=str))
        except Exception as exc:  # the outcome records it
            text = str(exc).strip().splitlines()
            row["error"] = f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
    row["seconds"] = time.perf_counter() - start
    counts: dict = {}
    for w in caught:
        counts[w.category.__name__] = counts.get(w.category.__name__, 0) + 1
    row["warnings"], row["mlp_fits"] = counts, counter[0]
    return row


def child_main(side: str, name: str, seeds: list) -> None:
    """The subprocess: import ``side``'s classes, run client ``name``, print one JSON line."""
    start = time.perf_counter()
    from dropin_clients import CLIENTS

    if side == "sklearn":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        info = {"module": "sklearn"}
    else:
        import keras

        import skmlp
        from skmlp import MLPClassifier, MLPRegressor

        info = {"backend": keras.backend.backend(), "module": skmlp.__file__}
    info["import_seconds"] = time.perf_counter() - start
    rows = run_client(CLIENTS[name][0], (MLPClassifier, MLPRegressor), seeds)
    print(MARK + json.dumps({"rows": rows, "info": info}), flush=True)


def _run_child(side, tree, name, seeds, args, cache) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", SKMLP_COMPILATION_CACHE=cache,
               PYTHONWARNINGS="ignore")  # fmt: skip
    paths = ([str(Path(tree).resolve())] if tree else []) + [str(HERE)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    code = "import sys, json, bench_dropin_clients as b; b.child_main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))"  # noqa: E501
    start, limit = time.perf_counter(), args.timeout * len(seeds)  # per random state
    proc = subprocess.Popen(
        [sys.executable, "-c", code, side, name, json.dumps(seeds)], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        cwd=Path(tree).resolve() if tree else HERE,  # "-c" puts the working folder first
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its joblib workers too (its own session)
        proc.communicate()
        return {"error": f"timeout after {limit:g} s", "process_seconds": limit}
    wall = time.perf_counter() - start  # all of its seeds (table() counts seed 0 only)
    lines = [ln for ln in stdout.splitlines() if ln.startswith(MARK)]
    if not lines:
        tail = [ln for ln in stderr.strip().splitlines() if ln.strip()][-1:] or ["no output"]
        return {"error": f"process exit {proc.returncode}: {tail[0][:300]}",
                "process_seconds": wall}  # fmt: skip
    out = json.loads(lines[-1][len(MARK) :])
    out["process_seconds"] = wall
    return out


def _stats(values):
    import numpy as np

    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def judge(sk: dict, side: dict, floor: float) -> dict:
    """Outcome of one skmlp side against scikit-learn's seeds (see the module docstring)."""
    cell = {"process_seconds": side.get("process_seconds")}
    rows = side.get("rows") or []
    row = rows[0] if rows else {}
    cell.update(seconds=row.get("seconds"), score=row.get("score"), facts=row.get("facts"),
                warnings=row.get("warnings", {}))  # fmt: skip
    error = side.get("error") or next((r["error"] for r in rows if "error" in r), None)
    sk_rows = sk.get("rows") or []
    if sk.get("error") or any("error" in r for r in sk_rows):
        cell["outcome"], cell["note"] = (
            "CLIENT-ERROR",
            sk.get("error") or next(r["error"] for r in sk_rows if "error" in r),
        )
    elif not any(r["mlp_fits"] for r in sk_rows):
        cell["outcome"], cell["note"] = "NOT-MLP", error or ""
    elif error:
        cell["outcome"], cell["note"] = "FAIL", error
    else:
        mean, sd = _stats([r["score"] for r in sk_rows])
        tol = max(2 * sd, floor)
        score = row["score"]
        if len(rows) > 1:  # --skmlp-seeds: a mean against a mean, 2 standard errors
            score, our_sd = _stats([r["score"] for r in rows])
            tol = max(2 * ((sd**2 / len(sk_rows)) + our_sd**2 / len(rows)) ** 0.5, floor)
            cell["score"], cell["score_sd"] = score, our_sd
        cell["tolerance"], cell["diff"] = tol, score - mean
        cell["outcome"] = "PASS" if abs(score - mean) <= tol else "DIFF"
        cell["note"] = ""
    return cell


def _fmt(x, spec=".3f"):
    return "-" if x is None else format(x, spec)


def _sk_cells(sk: dict) -> tuple[str, float | None]:
    rows = [r for r in sk.get("rows") or [] if "score" in r]
    if not rows:
        return "-", None
    mean, sd = _stats([r["score"] for r in rows])
    return f"{mean:.3f} ± {sd:.3f}", rows[0]["seconds"]


def _note(cell: dict) -> str:
    extra = {k: v for k, v in cell.get("warnings", {}).items() if k != "ConvergenceWarning"}
    note = cell.get("note") or ""
    if extra:
        warns = ", ".join(f"{k} x{v}" for k, v in extra.items())
        note = f"{note} warns {warns}" if note else f"warns {warns}"
    return note.replace("|", "/")


def table(records: dict, trees: list) -> tuple[str, dict]:
    """The Markdown table (a row per client, then totals) and the totals."""
    head = ["client", "group", "sklearn score (mean ± sd)", "sklearn s"]
    for t in trees:
        head += [f"{t}: outcome", f"{t}: skmlp score", f"{t}: skmlp s", f"{t}: ratio"]
    lines = ["| " + " | ".join([*head, "note"]) + " |", "|" + " --- |" * (len(head) + 1)]
    totals = {"sklearn_seconds": 0.0, "sklearn_process_seconds": 0.0}
    for t in trees:
        totals[t] = {"seconds": 0.0, "process_seconds": 0.0, "outcomes": {}}
    for name, rec in records.items():
        score, sk_s = _sk_cells(rec["sklearn"])
        totals["sklearn_seconds"] += sk_s or 0.0
        # its process ran every seed: count the import and random_state 0 only
        others = sum(r["seconds"] for r in (rec["sklearn"].get("rows") or [])[1:])
        totals["sklearn_process_seconds"] += (rec["sklearn"].get("process_seconds") or 0.0) - others
        cells, notes = [name, rec["group"], score, _fmt(sk_s, ".2f")], []
        for t in trees:
            c = rec["trees"][t]
            tot = totals[t]
            tot["outcomes"][c["outcome"]] = tot["outcomes"].get(c["outcome"], 0) + 1
            tot["seconds"] += c.get("seconds") or 0.0
            tot["process_seconds"] += c.get("process_seconds") or 0.0
            ratio = c["seconds"] / sk_s if c.get("seconds") and sk_s else None
            score = _fmt(c.get("score"))
            if c.get("score_sd") is not None:
                score += f" ± {c['score_sd']:.3f}"
            cells += [c["outcome"], score, _fmt(c.get("seconds"), ".2f"),
                      _fmt(ratio, ".1f")]  # fmt: skip
            if _note(c):
                notes.append(f"{t}: {_note(c)}" if len(trees) > 1 else _note(c))
        lines.append("| " + " | ".join([*cells, "; ".join(notes)]) + " |")
    sk_total = totals["sklearn_seconds"]
    lines.append("")
    sk_proc = totals["sklearn_process_seconds"]
    lines.append(f"Totals: scikit-learn {sk_total:.1f} s in its clients at random_state 0 "
                 f"({sk_proc:.1f} s in whole processes, less the other seeds' runs).")  # fmt: skip
    for t in trees:
        tot = totals[t]
        tot["ratio"] = tot["seconds"] / sk_total if sk_total else None
        tot["process_ratio"] = (tot["process_seconds"] / totals["sklearn_process_seconds"]
                                if totals["sklearn_process_seconds"] else None)  # fmt: skip
        counts = ", ".join(f"{k} {v}" for k, v in sorted(tot["outcomes"].items()))
        lines.append(f"- skmlp {t}: {counts}; {tot['seconds']:.1f} s in its clients, "
                     f"ratio {_fmt(tot['ratio'], '.2f')} to scikit-learn; "
                     f"{tot['process_seconds']:.1f} s in whole processes (imports included), "
                     f"ratio {_fmt(tot['process_ratio'], '.2f')}.")  # fmt: skip
    return "\n".join(lines), totals


RULE = (
    "Outcome rule: a client's score on skmlp's side (random_state 0) is PASS when it lies "
    "within max(2 * sd, {floor}) of the mean of scikit-learn's scores over random states "
    "{seeds} (sd: their sample standard deviation; data and splits are fixed, only the "
    "estimators' random_state moves), DIFF otherwise; FAIL when the client raised (its "
    "first line) or timed out ({timeout} s per random state); NOT-MLP when "
    "scikit-learn's side fitted no MLP. Scores are on the scale of an accuracy or R^2 "
    "(higher is better). Seconds: the client's own wall time in a fresh process at "
    "random_state 0 (imports excluded, the first fit's compiling included); ratio = "
    "skmlp / scikit-learn. With --skmlp-seeds N > 1 (a rerun of DIFF clients), skmlp's "
    "score is its mean over random states 0..N-1, shown with its sd, and the bound is "
    "max(2 * sqrt(sd_sklearn^2 / n_sklearn + sd_skmlp^2 / N), floor)."
)


def merge(paths: list, stem: Path, note: str = "") -> None:
    """Write one result from runs of disjoint client lists (``--merge A.json B.json``).

    The runs must share their trees, seeds and rule; clients keep the registry's order.
    """
    sys.path.insert(0, str(HERE))
    from dropin_clients import CLIENTS

    runs = [json.loads(Path(p).read_text()) for p in paths]
    facts = {k: v for k, v in runs[0].items() if k not in ("clients", "totals", "command")}
    facts["commands"] = [r["command"] for r in runs]
    if note:
        facts["note"] = note
    facts["load_average_at_start"] = [r["load_average_at_start"] for r in runs]
    facts["load_average_at_end"] = [r.get("load_average_at_end") for r in runs]
    merged = {}
    for run in runs:
        merged.update(run["clients"])
    records = {n: merged[n] for n in CLIENTS if n in merged}
    text, totals = table(records, list(facts["trees"]))
    facts.update(totals=totals, clients=records)
    backend = facts["keras_backend"]
    write_results(stem, f"Drop-in clients: scikit-learn's MLP vs skmlp ({backend})",
                  facts, facts["rule"] + "\n\n" + text, "clients")  # fmt: skip
    print(text)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="merge runs on disjoint clients into --out")  # fmt: skip
    parser.add_argument("--note", default="", help="a note recorded with --merge")
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--skmlp-seeds", type=int, default=1,
                        help="random states on skmlp's side (a rerun of DIFF clients)")  # fmt: skip
    parser.add_argument("--floor", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--clients", default="", help="comma-separated client names (all)")
    parser.add_argument("--out", default=None,
                        help="results stem (dropin_clients_<backend>); a bare name goes "
                        "under benchmarks/results/")  # fmt: skip
    args = parser.parse_args(argv)
    if args.out and Path(args.out).parent == Path("."):
        args.out = str(RESULTS / args.out)
    if args.merge:
        return merge(args.merge, Path(args.out), args.note)
    trees = dict(t.split("=", 1) for t in args.tree) or {"after": "."}
    sys.path.insert(0, str(HERE))
    from dropin_clients import CLIENTS

    names = [n for n in args.clients.split(",") if n] or list(CLIENTS)
    unknown = sorted(set(names) - set(CLIENTS))
    if unknown:
        raise SystemExit(f"unknown clients: {', '.join(unknown)}")
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    stem = Path(args.out) if args.out else RESULTS / f"dropin_clients_{backend}"
    seeds, our_seeds = list(range(args.seeds)), list(range(args.skmlp_seeds))
    folders = {name.upper(): p for name, p in trees.items()}
    facts = {
        "command": portable_command(["python", *sys.argv], folders=folders),
        "trees": {name: name.upper() if p != "." else "." for name, p in trees.items()},
        "keras_backend": backend,
        "seeds": seeds,
        "skmlp_seeds": our_seeds,
        "floor": args.floor,
        "timeout_s": args.timeout,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_at_start": os.getloadavg(),
        "rule": RULE.format(floor=args.floor, seeds=seeds, timeout=args.timeout),
    }
    records: dict = {}
    with tempfile.TemporaryDirectory(prefix="skmlp-clients-cache-") as cache:
        for i, name in enumerate(names):
            sk = _run_child("sklearn", None, name, seeds, args, cache)
            rec = {"group": CLIENTS[name][1], "sklearn": sk, "trees": {}, "raw": {}}
            for t, path in trees.items():
                raw = _run_child("skmlp", path, name, our_seeds, args, cache)
                rec["raw"][t] = raw
                rec["trees"][t] = judge(sk, raw, args.floor)
            records[name] = rec
            print(f"[{i + 1}/{len(names)}] {name}: "
                  + ", ".join(f"{t} {c['outcome']} {_fmt(c.get('score'))}"
                              for t, c in rec["trees"].items()), flush=True)  # fmt: skip
            text, totals = table(records, list(trees))
            facts.update(load_average_at_end=os.getloadavg(), totals=totals,
                         clients=portable(records, folders))  # fmt: skip
            write_results(stem, f"Drop-in clients: scikit-learn's MLP vs skmlp ({backend})",
                          facts, facts["rule"] + "\n\n" + text, "clients")  # fmt: skip
    print(text)


if __name__ == "__main__":
    main()
