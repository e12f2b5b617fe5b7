"""Copy a finished ``skmlp run`` folder's tables and run record into ``benchmarks/results/``.

Usage::

    python benchmarks/record_experiment.py OUT_DIR [--wall-time SECONDS] [--note TEXT]

Writes ``experiment_<name>.md`` (the command, machine, versions, timings and the results
table beside the seed notebook's figures, then the candidates ranked by CV),
``experiment_<name>.rst`` (the same for the docs' results page, with the plots),
``experiment_<name>.csv`` (results.csv), ``experiment_<name>_cv.csv`` (cv_results.csv),
``experiment_<name>_ranking.csv``, (an Optuna study's) ``experiment_<name>_trials.csv``,
``experiment_<name>_run.json`` and the run's loss-curve and
CV plots (``experiment_<name>_loss_curves.png``, ``_cv_accuracy.png``). ``<name>`` is the
config's ``name``, else the dataset's. Models stay in OUT_DIR: they are outputs, not records.
"""

import argparse
import itertools
import json
import shutil
from pathlib import Path

import pandas as pd
from _record import portable, portable_command, portable_text

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
    run, folders = _portable_run(run, out)
    note = portable_text(args.note, folders)
    name = run["config"].get("name") or run["dataset"]["name"]
    dataset = run["dataset"]["name"]
    res = pd.read_csv(out / "results.csv")
    RESULTS.mkdir(exist_ok=True)
    shutil.copyfile(out / "results.csv", RESULTS / f"experiment_{name}.csv")
    shutil.copyfile(out / "cv_results.csv", RESULTS / f"experiment_{name}_cv.csv")
    (RESULTS / f"experiment_{name}_run.json").write_text(json.dumps(run, indent=2) + "\n")
    ranking = None
    if (out / "trials.csv").is_file():  # an Optuna study's every trial, pruned ones included
        shutil.copyfile(out / "trials.csv", RESULTS / f"experiment_{name}_trials.csv")
    if (out / "ranking.csv").is_file():
        shutil.copyfile(out / "ranking.csv", RESULTS / f"experiment_{name}_ranking.csv")
        ranking = pd.read_csv(out / "ranking.csv")
    plots = []
    for plot in ("loss_curves", "cv_accuracy"):
        if (out / "plots" / f"{plot}.png").is_file():
            shutil.copyfile(
                out / "plots" / f"{plot}.png", RESULTS / f"experiment_{name}_{plot}.png"
            )
            plots.append(f"experiment_{name}_{plot}.png")

    # one validation split has no spread: say "val", not "CV ± std"
    split = run["config"].get("validation_size") is not None
    score = "val" if split else "CV"
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
        f"- settings: {_settings(run['config'])}",
        f"- wall time: {wall}; CV {t['cv_s']:.0f} s, refits {t['refit_s']:.0f} s",
        f"- chosen by {'validation' if split else 'CV'} accuracy: **{run['best_architecture']}**",
        "",
        f"| model | widths | BN + dropout | params | {score} acc %{'' if split else ' (± std)'} "
        f"| {score} log-loss "
        "| train acc % | test loss | test acc % | seed test acc % | test - seed |",
        "|" + " --- |" * 11,
    ]
    for r in res.itertuples():
        bn = (
            f"yes, {r.dropout:g}"
            if r.batch_norm
            else (f"no, {r.dropout:.2g}" if r.dropout else "no")
        )
        seed = r.seed_test_accuracy if dataset == "mnist" and r.seed_test_accuracy > 0 else None
        diff = f"{100 * r.test_accuracy - seed:+.2f}" if seed else "-"
        mark = " (best)" if r.best else ""
        lines.append(
            f"| {r.architecture}{mark} | {r.hidden_layer_sizes} | {bn} | {r.n_params:,} "
            f"| {100 * r.cv_accuracy_mean:.2f}"
            + ("" if split else f" ± {100 * r.cv_accuracy_std:.2f}")
            + f" "
            f"| {r.cv_log_loss_mean:.4f} | {100 * r.train_accuracy:.2f} | {r.test_loss:.4f} "
            f"| {100 * r.test_accuracy:.2f} | {f'{seed:.2f}' if seed else '-'} | {diff} |"
        )
    ranked = _ranking_lines(ranking) if ranking is not None and len(ranking) > len(res) else []
    if note:
        lines += ["", note]
    (RESULTS / f"experiment_{name}.md").write_text("\n".join(lines + ranked) + "\n")
    (RESULTS / f"experiment_{name}.rst").write_text(_rst(lines, ranked, note, plots))
    print("\n".join(lines + ranked))


def _portable_run(run: dict, out: Path) -> tuple[dict, dict]:
    """The run record as recorded here, and the folders a note's paths are named by.

    No folder of the machine that ran it stays: the command's ``--data-dir`` and the folder
    the data files were read from are ``DIR``, its ``--out`` and ``out`` are ``OUT``, and a
    config in this repository (or in a copy of it) is named relative to its root.
    """
    args = (run.get("command") or "").split(" ")
    pairs = list(itertools.pairwise(args))
    chosen = {opt: [v for a, v in pairs if a == opt] for opt in ("--data-dir", "--out")}
    folders = {"DIR": chosen["--data-dir"], "OUT": [str(out), *chosen["--out"]]}
    files = (run.get("dataset") or {}).get("files") or {}
    found = {**folders, "DIR": folders["DIR"] + [str(Path(f).parent) for f in files.values()]}
    if run.get("command"):
        options = {"--data-dir": "DIR", "--out": "OUT"}
        run = {**run, "command": portable_command(args, options, folders)}
    return portable(run, found), folders


def _settings(config: dict) -> str:
    """The search and its validation, in words."""
    search = config.get("search", "grid")
    valid = (
        f"{config['cv']}-fold stratified CV"
        if config.get("validation_size") is None
        else "a stratified validation split of "
        + (
            f"{config['validation_size']:.0%} of the"
            if isinstance(config["validation_size"], float)
            else f"{config['validation_size']:,}"
        )
        + " training rows"
    )
    kind = {"grid": "grid search", "random": f"random search ({config.get('n_iter')} drawn)",
            "halving-grid": "successive halving over a grid",
            "halving-random": f"successive halving over {config.get('n_iter')} drawn candidates",
            "optuna": f"an Optuna study ({config.get('sampler')} sampler, {config.get('pruner')} "
                      f"pruner, at most {config.get('n_trials')} trials"
                      + (f", {config['budget_epochs']} epochs in all" if config.get("budget_epochs")
                         else "") + ")"}[search]  # fmt: skip
    if search.startswith("halving"):
        kind += f" (factor {config.get('factor')}, resource: {config.get('resource')})"
    fixed = ", ".join(f"{k}={v}" for k, v in (config.get("estimator") or {}).items())
    searched = config.get("space") or {}
    rate = f"learning rate {config['learning_rate_init']}, "
    rate = "" if "learning_rate_init" in searched else rate
    return (
        f"{kind}, {valid}, {config['epochs']} epochs, batch {config['batch_size']}, {rate}"
        f"seed {config['random_state']}" + (f"; fixed: {fixed}" if fixed else "")
    )


def _ranking_lines(ranking) -> list[str]:
    """Every candidate ranked by CV (the validation score at its last halving round)."""
    lines = ["", "Every candidate, ranked by validation accuracy at the last round it reached:", "",
             "| rank | candidate | settings | round | epochs or rows | val acc % | val log-loss |",
             "|" + " --- |" * 7]  # fmt: skip
    for r in ranking.head(30).itertuples():
        resource = "-" if pd.isna(r.resource) else f"{int(r.resource):,}"
        lines.append(
            f"| {r.rank_cv} | {r.candidate} | {r.params} | {r.round} | {resource} "
            f"| {100 * r.cv_accuracy_mean:.2f} | {r.cv_log_loss_mean:.4f} |"
        )
    return lines


def _table(md_lines) -> list[str]:
    """A markdown table's rows as an rST list-table."""
    out = [".. list-table::", "   :header-rows: 1", ""]
    for line in md_lines:
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [c.strip().replace("*", "") for c in line.strip("|").split("|")]
            out.append("   * - " + "\n     - ".join(c or "-" for c in cells))
    return out


def _rst(md_lines, ranked, note, plots):
    """The same record as reStructuredText, for the Sphinx results page."""
    facts = [line for line in md_lines if line.startswith("- ")]
    facts = [f.replace("`", "``").replace("**", "*") for f in facts]
    out = [*facts, "", *_table(md_lines)]
    if note:
        out += ["", note.replace("`", "``")]
    if ranked:
        out += ["", ranked[1], "", *_table(ranked)]
    for plot in plots:
        out += ["", f".. image:: /../benchmarks/results/{plot}", "   :width: 100%"]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
