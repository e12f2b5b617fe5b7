"""Copy a finished ``skmlp run`` folder's tables and run record into ``benchmarks/results/``.

Usage::

    python benchmarks/record_experiment.py OUT_DIR [--wall-time SECONDS] [--note TEXT]

Writes ``experiment_<dataset>.md`` (the command, machine, versions, timings and the results
table beside the seed notebook's figures), ``experiment_<dataset>.csv`` (results.csv),
``experiment_<dataset>_cv.csv`` (cv_results.csv) and ``experiment_<dataset>_run.json``.
Models and plots stay in OUT_DIR: they are outputs, not records.
"""

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).parent / "results"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--wall-time", type=float, help="wall time of the command, seconds")
    parser.add_argument("--note", default="", help="a paragraph to add under the table")
    args = parser.parse_args(argv)
    out = Path(args.out)
    run = json.loads((out / "run.json").read_text())
    if not run.get("complete"):
        raise SystemExit(f"{out} holds no complete run")
    name = run["dataset"]["name"]
    res = pd.read_csv(out / "results.csv")
    RESULTS.mkdir(exist_ok=True)
    shutil.copyfile(out / "results.csv", RESULTS / f"experiment_{name}.csv")
    shutil.copyfile(out / "cv_results.csv", RESULTS / f"experiment_{name}_cv.csv")
    (RESULTS / f"experiment_{name}_run.json").write_text(json.dumps(run, indent=2) + "\n")

    t = run["timings"]
    wall = f"{args.wall_time:.0f} s" if args.wall_time else f"{t['total_s']:.0f} s (in-process)"
    lines = [
        f"# skmlp experiment: {name}",
        "",
        f"- command: `{run['command']}`",
        f"- Keras backend: {run['keras_backend']}; versions: "
        + ", ".join(f"{k} {v}" for k, v in run["versions"].items()),
        f"- machine: {run['machine']['platform']} ({run['machine'].get('processor') or 'cpu'}), "
        "2 cores, no GPU",
        f"- data: {run['dataset']['n_train']} training / {run['dataset']['n_test']} test rows, "
        f"sha256 {run['dataset']['sha256'][:16]}...",
        f"- settings: {run['config']['cv']}-fold stratified CV, {run['config']['epochs']} epochs, "
        f"batch {run['config']['batch_size']}, seed {run['config']['random_state']}",
        f"- wall time: {wall}; CV {t['cv_s']:.0f} s, refits {t['refit_s']:.0f} s",
        f"- chosen by CV accuracy: **{run['best_architecture']}**",
        "",
        "| model | widths | BN + dropout | params | CV acc % (± std) | CV log-loss "
        "| train acc % | test loss | test acc % | seed test acc % | test - seed |",
        "|" + " --- |" * 11,
    ]
    for r in res.itertuples():
        bn = f"yes, {r.dropout:g}" if r.batch_norm else "no"
        seed = r.seed_test_accuracy if name == "mnist" else None
        diff = f"{100 * r.test_accuracy - seed:+.2f}" if seed else "-"
        mark = " (best)" if r.best else ""
        lines.append(
            f"| {r.architecture}{mark} | {r.hidden_layer_sizes} | {bn} | {r.n_params:,} "
            f"| {100 * r.cv_accuracy_mean:.2f} ± {100 * r.cv_accuracy_std:.2f} "
            f"| {r.cv_log_loss_mean:.4f} | {100 * r.train_accuracy:.2f} | {r.test_loss:.4f} "
            f"| {100 * r.test_accuracy:.2f} | {f'{seed:.2f}' if seed else '-'} | {diff} |"
        )
    if args.note:
        lines += ["", args.note]
    (RESULTS / f"experiment_{name}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"experiment_{name}.rst").write_text(_rst(lines, res, name, args.note))
    print("\n".join(lines))


def _rst(md_lines, res, name, note):
    """The same record as reStructuredText, for the Sphinx results page."""
    facts = [line for line in md_lines if line.startswith("- ")]
    facts = [f.replace("`", "``").replace("**", "*") for f in facts]
    head = ["model", "widths", "BN + dropout", "params", "CV acc % (± std)", "CV log-loss",
            "train acc %", "test loss", "test acc %", "seed test acc %", "test - seed"]  # fmt: skip
    out = [*facts, "", ".. list-table::", "   :header-rows: 1", ""]
    out.append("   * - " + "\n     - ".join(head))
    for line in md_lines:
        if line.startswith("| ") and not line.startswith(("| model", "| ---")):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out.append("   * - " + "\n     - ".join(c or "-" for c in cells))
    if note:
        out += ["", note.replace("`", "``")]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
