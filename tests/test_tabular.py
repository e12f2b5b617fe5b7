"""Tables as users have them (issue 27): TabularEncoder, its model files, and the runs.

Generated tables mix numbers with blanks, text, booleans and a target with blanks;
the encoder is checked against scikit-learn's ColumnTransformer of the same parts,
its stored state against hostile edits, and ``skmlp run`` / ``skmlp predict`` end to
end for classification and regression (a few epochs on a few hundred rows).
"""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _hostile import edit

from skmlp import MLPClassifier, ModelFileError, TabularEncoder, load, save
from skmlp._tabular import TabularError
from skmlp.experiment import ConfigError, load_config, run_experiment


def mixed_table(n=240, seed=0) -> pd.DataFrame:
    """Numbers with blanks, text with blanks, booleans; a yes/no label and a price."""
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame({
        "age": rng.randint(18, 80, n).astype(float),
        "city": rng.choice(["oslo", "rome", "lima"], n).astype(object),
        "income": rng.lognormal(10, 0.5, n),
        "member": rng.rand(n) < 0.3,
    })  # fmt: skip
    frame.loc[rng.rand(n) < 0.1, "income"] = np.nan
    frame.loc[rng.rand(n) < 0.05, "city"] = None
    signal = 2.0 * (frame["city"] == "oslo") + (frame["age"] - 50) / 15 + frame["member"]
    frame["label"] = np.where(signal + rng.normal(0, 0.3, n) > 0.5, "yes", "no")
    frame["price"] = signal + rng.normal(0, 0.1, n)
    return frame


FEATURES = ["age", "city", "income", "member"]


# ------------------------------------------------------------------ the encoder
def test_encoder_computes_what_a_column_transformer_does():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = mixed_table()[["age", "city", "income"]]
    numeric = ["age", "income"]
    reference = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("missing", MissingIndicator(error_on_new=False), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["city"]),
    ]).fit(frame)  # fmt: skip
    enc = TabularEncoder().fit(frame)
    assert list(enc.numeric_columns_) == numeric and list(enc.indicator_columns_) == ["income"]
    np.testing.assert_allclose(enc.transform(frame), reference.transform(frame), atol=1e-5)
    other = mixed_table(seed=1)[["age", "city", "income"]]
    other.loc[0, "city"] = "paris"  # unseen: zeros, as handle_unknown="ignore"
    np.testing.assert_allclose(enc.transform(other), reference.transform(other), atol=1e-5)


def test_column_order_unseen_categories_and_named_refusals():
    frame = mixed_table()[FEATURES]
    enc = TabularEncoder().fit(frame)
    assert enc.cardinalities() == {"city": 4, "member": 2}  # oslo, rome, lima, (missing)
    shuffled = frame[["member", "income", "city", "age"]]
    np.testing.assert_array_equal(enc.transform(shuffled), enc.transform(frame))
    row = frame.iloc[:1].assign(city="paris")
    onehot = enc.transform(row)[0, -6:-2]  # the city columns
    assert not onehot.any()
    with pytest.raises(TabularError, match=r"lacks the column\(s\) .*'income'"):
        enc.transform(frame.drop(columns="income"))
    with pytest.raises(TabularError, match=r"not fitted on: 'zip'; drop them"):
        enc.transform(frame.assign(zip=1))
    with pytest.raises(TabularError, match=r"numeric column 'age' holds 'old' in row 0"):
        enc.transform(frame.astype({"age": object}).assign(age=["old"] + [1.0] * 239))


@pytest.mark.parametrize(
    "frame, settings, message",
    [
        (pd.DataFrame({"d": ["2024-01-02", "2024-02-03"]}), {}, "column 'd' holds dates"),
        (pd.DataFrame({"d": pd.to_datetime(["2024-01-02", "2024-02-03"])}), {}, "holds dates"),
        (pd.DataFrame({"id": [f"u{i}" for i in range(50)]}), {"max_categories": 20},
         "'id' has 50 distinct values, more than max_categories=20"),
        (pd.DataFrame({"a": list("abcdefgh"), "b": list("abcdefgh")}), {"max_width": 10},
         "would have 16 columns, more than max_width=10"),
        (pd.DataFrame({"x": [np.nan, np.nan]}), {}, "column 'x' has no values"),
        (pd.DataFrame({"x": [1.0, 2.0]}), {"categorical": ["y"]}, "lacks: 'y'"),
    ],
)  # fmt: skip
def test_tables_the_encoder_refuses(frame, settings, message):
    with pytest.raises(TabularError, match=message) as info:
        TabularEncoder(**settings).fit(frame)
    assert "\n" not in str(info.value)


def test_integer_columns_of_few_values_as_categories():
    frame = pd.DataFrame({"rooms": [1, 2, 3, 2, 1, 3], "area": [30.0, 50, 70, 55, 28, 80]})
    assert TabularEncoder().fit(frame).n_features_out_ == 2
    enc = TabularEncoder(integer_categories=5).fit(frame)
    assert list(enc.categorical_columns_) == ["rooms"] and enc.n_features_out_ == 4


# ----------------------------------------------------------------- model files
@pytest.fixture(scope="module")
def tabular_model(tmp_path_factory):
    from sklearn.pipeline import Pipeline

    frame = mixed_table()
    model = Pipeline([("tabular", TabularEncoder()),
                      ("mlp", MLPClassifier((8,), max_iter=3, random_state=0))])  # fmt: skip
    with pytest.warns(Warning):  # 3 epochs do not converge
        model.fit(frame[FEATURES], frame["label"])
    path = save(model, tmp_path_factory.mktemp("model") / "tab.skmlp")
    return model, path, frame


def test_a_saved_tabular_pipeline_predicts_the_same(tabular_model):
    model, path, frame = tabular_model
    back = load(path)
    shuffled = frame[["income", "member", "age", "city"]]
    expected = model.predict_proba(frame[FEATURES])
    np.testing.assert_array_equal(back.predict_proba(shuffled), expected)
    assert list(back[0].get_feature_names_out()) == list(model[0].get_feature_names_out())


def _state_edit(key, value):
    def change(manifest, members):
        manifest["object"]["steps"][0][1]["state"][key] = value

    return change


@pytest.mark.parametrize(
    "change, message",
    [
        (_state_edit("n_features_out_", 8), "n_features_out_ is 8, its columns make 9"),
        (_state_edit("n_features_out_", 10**9), "n_features_out_' is not an integer from 1"),
        (_state_edit("category_counts_", {"__ndarray__": "<i8", "shape": [2], "data": [4, 3]}),
         "category_counts_ does not match"),
        (_state_edit("scales_", {"__ndarray__": "<f8", "shape": [2], "data": [1.0, -1.0]}),
         "a scale is not positive"),
        (_state_edit("medians_", {"__ndarray__": "<f8", "shape": [1], "data": [1.0]}),
         "medians_ has 1 entries for 2 numeric columns"),
        (_state_edit("numeric_columns_", {"__ndarray__": "object-str", "shape": [2],
                                          "data": ["age", "evil"]}),
         "not the feature names, each once"),
        (_state_edit("indicator_columns_", {"__ndarray__": "object-str", "shape": [1],
                                            "data": ["city"]}),
         "missing-indicator column is not a numeric column"),
        (_state_edit("categories_", {"__ndarray__": "object-str", "shape": [1],
                                     "data": ["x" * 5000]}), "over the limit of 1024"),
        (_state_edit("transformers_", []), "unexpected stored attribute 'transformers_'"),
    ],
)  # fmt: skip
def test_hostile_tabular_state_is_refused(tabular_model, tmp_path, change, message):
    _, path, _ = tabular_model
    bad = tmp_path / "bad.skmlp"
    bad.write_bytes(edit(path.read_bytes(), change))
    with pytest.raises(ModelFileError, match=message) as info:
        load(bad)
    assert "\n" not in str(info.value) and str(bad) in str(info.value)


# --------------------------------------------------------------- config errors
BASE = """
name = "t"
[data]
path = "train.csv"
target = "{target}"
[estimator]
max_iter = {epochs}
[search]
cv = 2
report_top = 1
[search.space]
hidden_layer_sizes = [[4]]
"""


def write_config(folder, extra: dict | None = None, target="label", frame=None, epochs=2):
    (frame if frame is not None else mixed_table()).to_csv(folder / "train.csv", index=False)
    text = BASE.format(target=target, epochs=epochs)
    for section, lines in (extra or {}).items():
        text = text.replace(f"[{section}]\n", f"[{section}]\n{lines}\n")
        if f"[{section}]" not in text:
            text += f"\n[{section}]\n{lines}\n"
    (folder / "run.toml").write_text(text)
    return folder / "run.toml"


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"estimator": 'task = "ranking"'}, "estimator.task must be one of auto, classification"),
        ({"search": 'scoring = "accuracy_score"'}, "must be a scikit-learn scorer name"),
        ({"search": 'scoring = "adjusted_rand_score"'}, "scores clusterings"),
        ({"estimator": 'task = "regression"', "search": 'scoring = "f1_macro"'},
         "'f1_macro' scores a classification, but the task is regression"),
        ({"estimator": 'task = "regression"\nclass_weight = "balanced"'},
         "class_weight does not apply to regression"),
        ({"preprocessing": "max_categories = 1"}, "max_categories must be an integer >= 2"),
        ({"preprocessing": "max_width = 1000000"},
         "max_width must be an integer >= 1 and <= 100,000"),
        ({"preprocessing": 'categorical = "city"'}, "categorical must be a list of column names"),
        ({"preprocessing": "categorical = [1]"}, "must be a list of at most 10,000 column names"),
        ({"preprocessing": 'scaler = "standard"\nmax_width = 50'},
         "sets the table encoder, which scaler='standard' does not use"),
        ({"preprocessing": "bins = 3"}, "unknown key 'bins' in [preprocessing]"),
        ({"data": 'drop_missing_target = "yes"'}, "data.drop_missing_target must be true or false"),
    ],
)  # fmt: skip
def test_config_errors_are_one_line(tmp_path, extra, message):
    path = write_config(tmp_path, extra)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value) and "\n" not in str(info.value), str(info.value)


@pytest.fixture
def no_fit(monkeypatch):
    """Any network fit fails the test: the refusals come before the first."""
    from skmlp._base import BaseMultilayerPerceptron

    def fit(*args, **kwargs):
        pytest.fail("a network was fitted")

    monkeypatch.setattr(BaseMultilayerPerceptron, "fit", fit)


def _blank_target(frame):
    frame.loc[[3, 10, 11], "label"] = None
    return frame


@pytest.mark.parametrize(
    "change, extra, message",
    [
        (_blank_target, {}, "'label' is empty in 3 of 240 data rows (4, 11, 12); fill them, or "
                            "set [data] drop_missing_target = true"),
        (lambda f: f.assign(when="2024-01-02"), {}, "column 'when' holds dates"),
        (lambda f: f.assign(user=[f"u{i}" for i in range(len(f))]),
         {"preprocessing": "max_categories = 100"}, "more than max_categories=100"),
        (lambda f: f, {"preprocessing": "max_width = 5"}, "more than max_width=5"),
        (lambda f: f, {"search": 'scoring = "r2"'},
         "'r2' scores a regression, but the task is classification (inferred"),
        (lambda f: f, {"preprocessing": 'categorical = ["zip"]'}, "lacks: 'zip'"),
        (lambda f: f, {"estimator": 'task = "regression"'},
         "task = regression needs a numeric target; 'label' holds"),
    ],
)  # fmt: skip
def test_data_errors_are_one_line_before_any_fit(tmp_path, no_fit, change, extra, message):
    path = write_config(tmp_path, extra, frame=change(mixed_table()))
    config = load_config(path)
    with pytest.raises((ConfigError, ValueError)) as info:
        run_experiment(config, out=tmp_path / "out", plots=False, verbose=False)
    text = str(info.value)
    assert message in text and "\n" not in text, text


# ---------------------------------------------------------------- whole runs
def _predict(*args):
    return subprocess.run([sys.executable, "-m", "skmlp", "predict", *map(str, args)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_classification_run_and_predict_on_a_mixed_table(tmp_path, capsys):
    frame = mixed_table().drop(columns="price")
    frame.loc[[3, 10], "label"] = None
    extra = {
        "data": "drop_missing_target = true",
        "estimator": 'class_weight = "balanced"\nbatch_size = 16\nlearning_rate_init = 0.01',
        "search": 'scoring = "balanced_accuracy"',
    }
    path = write_config(tmp_path, extra, frame=frame, epochs=20)
    result = run_experiment(load_config(path), out=tmp_path / "out", plots=False)
    printed = capsys.readouterr().out
    assert "dropped 2 of 240 rows without a target (4, 11)" in printed
    assert "task: classification (inferred" in printed and "classes (rarest first)" in printed
    assert "2 categorical one-hot: city (4), member (2); 9 encoded features" in printed
    ranking = result.ranking
    assert ranking["cv_balanced_accuracy_mean"].is_monotonic_decreasing
    assert {"cv_accuracy_mean", "cv_balanced_accuracy_mean"} <= set(result.results.columns)
    assert "CV balanced_accuracy" in (tmp_path / "out" / "results.md").read_text()
    model = result.best_model
    assert type(model[0]).__name__ == "TabularEncoder"
    assert model[-1].class_weight == "balanced"
    assert result.results["test_accuracy"].max() > 0.7  # the label follows the features
    # predict: the training columns in another order, an unseen city, no target
    new = mixed_table(n=20, seed=5)[["member", "city", "income", "age"]]
    new.loc[0, "city"] = "paris"
    new.to_csv(tmp_path / "new.csv", index=False)
    best = tmp_path / "out" / "best_model.skmlp"
    done = _predict(best, tmp_path / "new.csv", "--proba")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "row,prediction,p_no,p_yes" and len(lines) == 21
    new.assign(zip=1).to_csv(tmp_path / "extra.csv", index=False)
    new.drop(columns="age").to_csv(tmp_path / "less.csv", index=False)
    refusals = {"extra.csv": "not fitted on: 'zip'; drop them",
                "less.csv": "lacks the column(s) the model was fitted on: 'age'"}  # fmt: skip
    for name, needle in refusals.items():
        done = _predict(best, tmp_path / name)
        assert done.returncode == 2 and needle in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr


@pytest.mark.slow
def test_regression_run_on_a_mixed_table(tmp_path, capsys):
    extra = {
        "estimator": "batch_size = 16\nlearning_rate_init = 0.01",
        "search": 'kind = "halving-grid"\nscoring = "neg_mean_absolute_error"',
    }
    frame = mixed_table().drop(columns="label")
    path = write_config(tmp_path, extra, target="price", frame=frame, epochs=20)
    text = path.read_text().replace("[[4]]", "[[8], [32]]")
    path.write_text(text)
    result = run_experiment(load_config(path), out=tmp_path / "out")
    printed = capsys.readouterr().out
    assert "task: regression (inferred: a float target with 240 distinct values" in printed
    ranking = result.ranking
    last = ranking[ranking["round"] == ranking["round"].max()]
    assert last["cv_mae_mean"].is_monotonic_increasing  # ranked by MAE, the lowest first
    assert {"test_r2", "test_mae", "test_rmse"} <= set(result.results.columns)
    assert "test_accuracy" not in result.results.columns
    plots = tmp_path / "out" / "plots"
    assert (plots / "residuals.png").is_file() and (plots / "predicted_vs_true.png").is_file()
    assert not (plots / "cv_accuracy.png").exists()
    assert json.loads((tmp_path / "out" / "run.json").read_text())["task"] == "regression"
    assert result.results["test_r2"].max() > 0.5  # price follows the features
    mixed_table(n=10, seed=3)[FEATURES].to_csv(tmp_path / "new.csv", index=False)
    done = _predict(tmp_path / "out" / "best_model.skmlp", tmp_path / "new.csv")
    assert done.returncode == 0, done.stderr
    values = pd.read_csv(__import__("io").StringIO(done.stdout))["prediction"]
    assert len(values) == 10 and values.dtype.kind == "f"
    # a finished run loads back, its figures recomputed from the saved models
    again = run_experiment(load_config(path), out=tmp_path / "out", verbose=False)
    np.testing.assert_allclose(again.results["test_r2"], result.results["test_r2"], rtol=1e-3)
