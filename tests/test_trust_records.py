"""Issue 24, findings 8, 9, 10 and 11 (results side): a results folder and a model's labels.

Each test is numbered by the finding it covers and makes its hostile input itself;
the hostile inputs come from ``tests/_hostile_records.py``, which also holds the
benchmark's cases (full scale, run as ``python -m skmlp``).
"""

import errno
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _hostile_records import (
    CASES,
    HOSTILE_LABELS,
    TINY,
    TINY_ARGS,
    deep_json,
    finished_run,
    forge_test_accuracy,
    forged_split,
    labels_model,
    npz_data,
    sparse_file,
)

from skmlp import MLPClassifier
from skmlp.cli import main
from skmlp.experiment import ExperimentConfig, run_experiment

links = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run, copied by each test that changes it."""
    return finished_run(tmp_path_factory.mktemp("records") / "run")


@pytest.fixture
def run_copy(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    return out


def _rerun(out):
    return run_experiment(ExperimentConfig(**TINY), out=out, verbose=False, plots=False)


def _unfinish(out):
    record = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps(record | {"complete": False}))


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("skmlp: error: ") and "\n" not in err, err
    return err


# ------------------------------------------------------ 8: records checked
def test_8_a_forged_test_accuracy_is_refused(run_copy, capsys):
    forge_test_accuracy(run_copy)  # 99.9% for a model that scores far less
    with pytest.raises(ValueError, match=r"results\.csv: the test_accuracy recorded for mlp2"):
        _rerun(run_copy)
    err = _one_line_error(capsys, [*TINY_ARGS, "--out", str(run_copy)])
    assert "99.9" not in err.split("(0.999)")[-1]  # never shown as the result


def test_8_a_finished_run_reports_recomputed_scores_and_says_what_was_read_back(run_copy):
    before = pd.read_csv(run_copy / "results.csv")
    result = _rerun(run_copy)
    model = result.best_model
    assert result.results["test_accuracy"].iloc[0] == pytest.approx(before["test_accuracy"].iloc[0])
    assert any("CV scores were read back" in n for n in result.unverified)
    assert hasattr(model, "predict")


def test_8_a_forged_refit_record_is_refused(run_copy):
    _unfinish(run_copy)  # the run resumes, and reuses its stored refit
    record_path = run_copy / "refits" / "mlp2.json"
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps(record | {"test_accuracy": 0.999}))
    with pytest.raises(ValueError, match=r"mlp2\.json: the test_accuracy recorded for mlp2"):
        _rerun(run_copy)


def test_8_a_resumed_run_marks_replayed_cv_scores_in_every_report(run_copy):
    _unfinish(run_copy)
    result = _rerun(run_copy)
    assert result.unverified and "2 of the 2 CV fits were read back" in result.unverified[0]
    assert "read back" in (run_copy / "results.md").read_text()
    assert json.loads((run_copy / "run.json").read_text())["unverified"] == result.unverified


def test_8_a_fresh_run_has_nothing_unverified(finished):
    record = json.loads((finished / "run.json").read_text())
    assert record["unverified"] == []


@pytest.mark.parametrize(
    "rows",
    [[-1], [0], [149] * 30, list(range(-30, 0)), list(range(1, 31)), list(range(120, 151))],
    ids=["negative", "one-row", "repeated", "negative-30", "not-the-seed", "out-of-range"],
)
def test_8_a_forged_test_split_is_refused(tmp_path, rows):
    from skmlp.experiment.data import load_data

    npz = npz_data(tmp_path)
    forged_split(tmp_path / "out", npz, rows)
    config = ExperimentConfig(data={"npz": str(npz)}, dataset="iris")
    with pytest.raises(ValueError, match=r"test_split\.json: "):
        load_data(config, out=tmp_path / "out")


def test_8_an_oversized_test_split_is_refused_before_it_is_read(tmp_path):
    from skmlp.experiment.data import load_data

    npz = npz_data(tmp_path)
    sparse_file(tmp_path / "out" / "test_split.json", 2**20)  # 150 rows need < 70 KB
    config = ExperimentConfig(data={"npz": str(npz)}, dataset="iris")
    with pytest.raises(ValueError, match=r"test_split\.json: 1,048,576 bytes, over the"):
        load_data(config, out=tmp_path / "out")


def test_8_an_honest_test_split_is_still_reused(tmp_path):
    """Ordinary use (passes before the change too): the split made once is kept."""
    from skmlp.experiment.data import load_data

    npz = npz_data(tmp_path)
    config = ExperimentConfig(data={"npz": str(npz)}, dataset="iris")
    first = load_data(config, out=tmp_path / "out")
    config.random_state = 5  # the recorded split, not a new one
    again = load_data(config, out=tmp_path / "out")
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert len(again.y_test) == 30


@links
@pytest.mark.parametrize("name", ["run.json", "results.csv", "fits", "refits/mlp2.json"])
def test_8_a_symlinked_results_file_is_refused_and_its_target_kept(run_copy, tmp_path, name):
    _unfinish(run_copy)  # results.csv and the records would be written again
    precious = tmp_path / "precious"
    target = run_copy / name
    if target.is_dir():
        shutil.copytree(target, precious)
        shutil.rmtree(target)
    else:
        precious.write_bytes(target.read_bytes())
        target.unlink()
    before = {p: p.read_bytes() for p in [precious, *precious.rglob("*")] if p.is_file()}
    target.symlink_to(precious)
    with pytest.raises(ValueError, match=f"{name}: a symbolic link in a results folder"):
        _rerun(run_copy)
    assert {p: p.read_bytes() for p in before} == before and target.is_symlink()


def test_8_an_oversized_fit_record_is_refused_before_the_data_loads(run_copy, monkeypatch):
    import skmlp.experiment.run

    _unfinish(run_copy)
    sparse_file(run_copy / "fits" / "0123456789abcdef01234567.json", 64 * 2**20)
    monkeypatch.setattr(skmlp.experiment.run, "load_data", lambda *a, **k: pytest.fail("loaded"))
    with pytest.raises(ValueError, match="over the 16,777,216-byte limit of a record"):
        _rerun(run_copy)


# ------------------------------------------- 9: malformed records, one line
def _mutate_fit_record(out, change):
    path = sorted((out / "fits").glob("*.json"))[0]
    record = json.loads(path.read_text())
    text = change(record)
    path.write_text(text if isinstance(text, str) else json.dumps(text))
    return path


@pytest.mark.parametrize(
    "change",
    [
        lambda r: {k: v for k, v in r.items() if k != "key"},
        lambda r: json.dumps(r | {"scores": {"accuracy": 0.5}}).replace("0.5", "NaN"),
        lambda r: r | {"n_params": 10**300},
        lambda r: r | {"scores": {"accuracy": "0.99", "neg_log_loss": -0.1}},
        lambda r: r | {"fit_time": -1.0},
        lambda r: r | {"history": {"loss": ["x"]}},
        lambda r: [r],
        lambda r: "{" * 5000,
    ],
    ids=["no-key", "nan", "huge", "string-score", "negative-time", "bad-history", "list",
         "broken"],
)  # fmt: skip
def test_9_a_malformed_fit_record_is_set_aside_and_refitted(run_copy, change, monkeypatch):
    _unfinish(run_copy)
    path = _mutate_fit_record(run_copy, change)
    fitted = []
    original = MLPClassifier.fit
    monkeypatch.setattr(
        MLPClassifier, "fit", lambda self, *a, **k: fitted.append(1) or original(self, *a, **k)
    )
    result = _rerun(run_copy)
    assert len(fitted) == 1  # that one fold again; the refit is reused
    assert (path.parent / (path.name + ".discarded")).is_file()
    assert json.loads(path.read_text())["key"] == path.stem  # refitted, stored again
    assert math.isfinite(result.results["cv_accuracy_mean"].iloc[0])


def test_9_a_deeply_nested_run_record_is_one_line(tmp_path, capsys):
    deep_json(tmp_path / "out" / "run.json", depth=100_000)
    err = _one_line_error(capsys, ["run", "--dataset", "digits", "--out", str(tmp_path / "out")])
    assert "run.json: not valid JSON (nested too deeply)" in err


def test_9_a_run_record_of_the_wrong_shape_is_one_line(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run.json").write_text('{"config_key": ["x"]}')
    err = _one_line_error(capsys, ["run", "--dataset", "digits", "--out", str(tmp_path / "out")])
    assert "run.json: not a run record" in err


# ---------------------------------------------------- 10: labels escaped
def _predict(tmp_path, capsys, labels, *extra):
    model = labels_model(tmp_path / "m.skmlp", labels)
    X = np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32) * 10
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", str(model), str(tmp_path / "x.npy"), "--proba", *extra]) == 0
    return capsys.readouterr().out


def _cells(text):
    return [cell for line in text.splitlines() for cell in line.split(",")]


def test_10_hostile_labels_are_escaped_in_the_csv_and_on_the_terminal(tmp_path, capsys):
    out = _predict(tmp_path, capsys, HOSTILE_LABELS)
    saved = tmp_path / "p.csv"
    _predict(tmp_path, capsys, HOSTILE_LABELS, "--output", str(saved))
    for text in (out, saved.read_text()):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "\\x1b" in text and "\\u202e" in text  # shown, visibly
        cells = [c.strip('"') for c in _cells(text)]
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "-", "\t", "\r")]
        assert "'@SUM" in text or "'+cmd" in text or "'=HYPERLINK" in text  # kept, as text


def test_10_ordinary_labels_are_unchanged(tmp_path, capsys):
    """Ordinary use (passes before the change too)."""
    labels = ["-1", "cat", "猫", "Ölfass", "3.5"]
    frame = pd.read_csv(__import__("io").StringIO(_predict(tmp_path, capsys, labels)))
    assert set(frame["prediction"].astype(str)) <= set(labels)
    assert [c for c in frame.columns if c.startswith("p_")] == [f"p_{c}" for c in sorted(labels)]


def test_10_strings_from_files_are_escaped_in_error_lines(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run.json").write_text('{"config_key": "x", "config": "\\u001b[2Jx"}')
    err = _one_line_error(capsys, ["run", "--dataset", "digits", "--out", str(tmp_path / "out")])
    assert "\x1b" not in err and "holds a run with other settings" in err


# ---------------------------------------- 11: write failures, --out a file
def test_11_a_full_disk_names_the_file_and_keeps_what_was_saved(run_copy, monkeypatch):
    _unfinish(run_copy)
    saved = {p: p.read_bytes() for p in run_copy.rglob("*") if p.is_file()}
    saved.pop(run_copy / "run.json")  # rewritten (same content) when the run starts
    real = Path.write_text

    def full(self, *args, **kwargs):
        if self.name.startswith(".results.csv."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError) as info:
        _rerun(run_copy)
    message = str(info.value)
    assert message.startswith(f"{run_copy / 'results.csv'}: cannot be written (No space left")
    assert "\n" not in message
    # nothing saved before was damaged: each file is as it was, or (the best model,
    # written again before results.csv) a whole new copy
    changed = sorted(p.name for p, data in saved.items() if p.read_bytes() != data)
    assert changed == ["best_model.joblib"], changed
    json.loads((run_copy / "run.json").read_text())
    assert not list(run_copy.rglob("*.skmlp-tmp.part"))
    monkeypatch.setattr(Path, "write_text", real)
    assert _rerun(run_copy).results["test_accuracy"].iloc[0] > 0  # and it resumes


def test_11_out_naming_a_file_is_one_clear_line(tmp_path, capsys):
    blocker = tmp_path / "results.txt"
    blocker.write_text("mine")
    err = _one_line_error(capsys, ["run", "--dataset", "digits", "--out", str(blocker)])
    assert f"--out {blocker} is a file, not a folder" in err
    assert blocker.read_text() == "mine"


# --------------------------------------------- the benchmark's cases, refused
@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c[1] for c in CASES])
def test_8_the_benchmark_cases_are_refused(tmp_path, case):
    _, _, make = case
    argv = make(tmp_path)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(Path(__file__).parents[1]))
    start = time.time()
    proc = subprocess.run([sys.executable, "-m", "skmlp", *argv], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skmlp: error: "), proc.stderr[-2000:]
    assert time.time() - start < 30
