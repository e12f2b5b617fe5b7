"""Your own data: CSV, Parquet, .npz, scikit-learn's datasets; every bad column named."""

import zipfile

import numpy as np
import pytest
from sklearn.datasets import load_iris

from skmlp.experiment import ConfigError, ExperimentConfig, run_experiment
from skmlp.experiment.data import load_data


def iris_frame():
    X, y = load_iris(return_X_y=True, as_frame=True)
    frame = X.copy()
    frame["species"] = np.array(["setosa", "versicolor", "virginica"])[y]
    return frame


def config(**data):
    return ExperimentConfig(data=data, dataset="own", random_state=0)


def test_csv_with_a_recorded_split(tmp_path):
    path = tmp_path / "iris.csv"
    iris_frame().to_csv(path, index=False)
    out = tmp_path / "out"
    out.mkdir()
    data = load_data(config(path=str(path), target="species", test_size=0.2), out=out)
    assert data.X_train.shape == (120, 4) and data.X_test.shape == (30, 4)
    assert data.X_train.dtype == np.float32 and data.pixel_max is None
    # stratified: 10 test rows of each species
    assert sorted(np.unique(data.y_test, return_counts=True)[1]) == [10, 10, 10]
    record = (out / "test_split.json").read_text()
    assert '"test_rows"' in record
    # the recorded split is reused, not redrawn: another seed gives the same rows
    cfg = config(path=str(path), target="species", test_size=0.2)
    cfg.random_state = 99
    again = load_data(cfg, out=out)
    np.testing.assert_array_equal(again.X_test, data.X_test)
    # a split recorded for other data is refused
    iris_frame().iloc[:-1].to_csv(path, index=False)
    with pytest.raises(ConfigError, match="records a split of other data"):
        load_data(cfg, out=out)


def test_csv_with_a_test_file(tmp_path):
    frame = iris_frame()
    frame.iloc[:100].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[100:].to_csv(tmp_path / "test.csv", index=False)
    data = load_data(config(path=str(tmp_path / "train.csv"), target="species",
                            test_path=str(tmp_path / "test.csv")))  # fmt: skip
    assert len(data.y_train) == 100 and len(data.y_test) == 50
    assert data.feature_names == list(frame.columns[:4])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: f.drop(columns="species"), "no target column 'species'; its columns are"),
        (
            lambda f: f.assign(colour="red"),
            {
                # a CSV's cells are named by data row, line and column
                ".csv": "data row 1 (line 2), column 6 ('colour'): 'red' is not a number",
                ".parquet": "feature column 'colour' is not numeric (e.g. 'red'",
            },
        ),
        (
            lambda f: f.assign(**{"petal width (cm)": f["petal width (cm)"].where(f.index != 7)}),
            {
                ".csv": "data row 8 (line 9), column 4 ('petal width (cm)'): '' is not a number",
                ".parquet": "feature column 'petal width (cm)' has missing values in rows [7]",
            },
        ),
        (
            lambda f: f.assign(species=f["species"].where(f.index != 3)),
            "the target column 'species' is empty in 1 of 150 data rows (4)",
        ),
        (lambda f: f[["species"]], "no feature columns besides the target"),
        (
            lambda f: f.assign(flag=f.index % 2 == 0),
            {
                ".csv": "data row 1 (line 2), column 6 ('flag'): 'True' is not a number",
                ".parquet": "feature column 'flag' is not numeric",
            },
        ),
    ],
)
def test_bad_columns_are_named(tmp_path, suffix, damage, message):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    path = tmp_path / f"data{suffix}"
    frame = damage(iris_frame())
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    cfg = config(path=str(path), target="species")
    cfg.preprocessing = "standard"  # numbers only: "auto" encodes text and blanks
    with pytest.raises(ConfigError) as info:
        load_data(cfg)
    message = message[suffix] if isinstance(message, dict) else message
    assert message in str(info.value) and str(path) in str(info.value)


def test_a_test_file_with_other_columns_is_refused(tmp_path):
    frame = iris_frame()
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.rename(columns={"sepal length (cm)": "sepal"}).to_csv(tmp_path / "test.csv",
                                                                index=False)  # fmt: skip
    with pytest.raises(ConfigError, match=r"missing: sepal length \(cm\); not in the training "
                                          r"file: sepal"):  # fmt: skip
        load_data(config(path=str(tmp_path / "train.csv"), target="species",
                         test_path=str(tmp_path / "test.csv")))  # fmt: skip


def test_npz(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 6)), np.repeat([0, 1], 100)
    np.savez(tmp_path / "split.npz", X_train=X[:150], y_train=y[:150], X_test=X[150:],
             y_test=y[150:])  # fmt: skip
    data = load_data(config(npz=str(tmp_path / "split.npz")))
    assert data.X_train.shape == (150, 6) and len(data.y_test) == 50
    np.savez_compressed(tmp_path / "whole.npz", X=X, y=y)
    data = load_data(config(npz=str(tmp_path / "whole.npz"), test_size=0.25))
    assert data.X_train.shape == (150, 6)


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(X=np.zeros((10, 3))), "it needs X_train, y_train"),
        (dict(X=np.zeros((10, 3)), y=np.zeros(9)), "X must be 2-D and y 1-D of as many rows"),
        (dict(X=np.zeros(10), y=np.zeros(10)), "X must be 2-D"),
        (dict(X=np.array([["a", "b"]] * 4), y=np.zeros(4)), "X must hold finite numbers"),
        (dict(X=np.full((4, 2), np.nan), y=np.zeros(4)), "X must hold finite numbers"),
        (dict(X=np.zeros((4, 2)), y=np.zeros(4), weights=np.ones(4)), "unexpected array 'weights'"),
        (
            dict(
                X_train=np.zeros((4, 2)),
                y_train=np.zeros(4),
                X_test=np.zeros((2, 3)),
                y_test=np.zeros(2),
            ),
            "X_test has another number of columns",
        ),
        (
            dict(X=np.array([None] * 4, dtype=object).reshape(2, 2), y=np.zeros(2)),
            "holds Python objects",
        ),
    ],
)
def test_bad_npz_is_named(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ConfigError) as info:
        load_data(config(npz=str(path)))
    assert message in str(info.value)


def test_an_npz_bomb_is_refused_before_allocating(tmp_path):
    # a tiny member whose header declares 10**12 float64 values
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    member = tmp_path / "X.npy"
    with open(member, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.write(member, "X.npy")
        z.writestr("y.npy", b"")
    with pytest.raises(ConfigError, match="declares 8,000,000,000,000 bytes"):
        load_data(config(npz=str(path)))


# ------------------------------------ the rules of skmlp._features, for training
def test_an_index_column_is_dropped_not_used_as_a_feature(tmp_path):
    path = tmp_path / "iris.csv"
    iris_frame().to_csv(path)  # pandas' defaults: its index under an empty header cell
    with pytest.warns(UserWarning, match="first column is an index"):
        data = load_data(config(path=str(path), target="species"))
    assert data.X_train.shape[1] == 4
    assert data.feature_names == list(iris_frame().columns[:4])


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b,species\n", "the file has a header row but no data rows"),
        ("a,b,species\n1,2,x\n\n3,4,y\n", "data row 2 (line 3) has 0 cells, the header has 3"),
        ("a,b,species\n1,2,x\n3,4\n", "data row 2 (line 3) has 2 cells, the header has 3"),
        ("a,b,species\n1,2,x\n3,4,y,5\n", "data row 2 (line 3) has 4 cells, the header has 3"),
        ("a,species\n1,2,x\n3,4,y\n", "data row 1 (line 2) has 3 cells, the header has 2"),
    ],
    ids=["header-only", "blank-line", "short-row", "long-row", "short-header"],
)
def test_every_csv_row_has_the_headers_cells(tmp_path, text, message):
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_data(config(path=str(path), target="species"))
    assert message in str(info.value)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_a_csv_over_the_memory_budget_is_refused_before_it_is_read(tmp_path, monkeypatch, suffix):
    import pandas as pd

    import skmlp._features

    path = tmp_path / f"iris{suffix}"
    iris_frame().to_csv(path, index=False)  # gzipped by its name
    # eight bytes a character: a limit of 1,500 characters, under the text's size but
    # over the .gz file's, so that the .gz is measured decompressed
    monkeypatch.setattr(skmlp._features, "memory_budget", lambda: 12000)
    assert 1500 < len(iris_frame().to_csv(index=False))
    assert suffix == ".csv" or path.stat().st_size < 1500
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: pytest.fail("read the file"))
    with pytest.raises(ConfigError, match="more than 1,500 bytes of text"):
        load_data(config(path=str(path), target="species"))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npz"])
def test_a_source_without_rows_is_refused(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    empty = iris_frame().iloc[:0]
    if suffix == ".csv":
        empty.to_csv(path, index=False)
        spec = {"path": str(path), "target": "species"}
    elif suffix == ".parquet":
        pytest.importorskip("pyarrow")
        empty.to_parquet(path, index=False)
        spec = {"path": str(path), "target": "species"}
    else:
        np.savez(path, X=np.zeros((0, 4)), y=np.zeros(0))
        spec = {"npz": str(path)}
    with pytest.raises(ConfigError, match=r"no (data )?rows"):
        load_data(config(**spec))


def test_boolean_feature_arrays_are_refused_like_boolean_columns(tmp_path):
    path = tmp_path / "bool.npz"
    np.savez(path, X=np.eye(4, dtype=bool), y=np.arange(4))
    with pytest.raises(ConfigError, match="X must hold finite numbers, not bool values"):
        load_data(config(npz=str(path)))


def test_an_npz_source_is_named_npz(tmp_path):
    np.savez(tmp_path / "data.npz", X=np.zeros((10, 2)), y=np.repeat([0, 1], 5))
    path = (tmp_path / "data.npz").rename(tmp_path / "data.bin")
    with pytest.raises(ConfigError, match=r"not an \.npz file"):
        load_data(config(npz=str(path)))


def test_sklearn_and_openml_by_name():
    data = load_data(config(sklearn="wine"))
    assert data.X_train.shape[1] == 13 and data.name == "sklearn-wine"
    with pytest.raises(ConfigError, match="unknown scikit-learn dataset 'boston'"):
        load_data(config(sklearn="boston"))


def test_openml_offline_without_cache_says_so(tmp_path, monkeypatch):
    import sklearn.datasets

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(ConfigError, match="offline, it must be in scikit-learn's cache"):
        load_data(config(openml="mnist_784"))


def test_a_search_on_your_own_csv_end_to_end(tmp_path):
    path = tmp_path / "iris.csv"
    iris_frame().to_csv(path, index=False)
    cfg = ExperimentConfig(
        data={"path": str(path), "target": "species"}, dataset="iris", epochs=5, cv=2,
        space={"hidden_layer_sizes": [[8], [16]]}, report_top=1, batch_size=32,
    )  # fmt: skip
    result = run_experiment(cfg, out=tmp_path / "out", verbose=False, plots=False)
    assert set(result.best_model.classes_) == {"setosa", "versicolor", "virginica"}
    assert result.record["dataset"]["n_test"] == 30
    assert (tmp_path / "out" / "test_split.json").is_file()
    # standardised features by default for data that are not images
    assert type(result.best_model[0]).__name__ == "StandardScaler"


def test_string_labels_keep_their_fit_key_across_processes():
    """A stored fit is found again for string classes: the key hashes the labels' values.

    An object array's raw bytes are pointers; two arrays of equal strings held in
    distinct objects (as two processes reading the same CSV have) must share a key.
    """
    from sklearn.pipeline import make_pipeline as sk_make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skmlp import MLPClassifier
    from skmlp.experiment.search import fit_key

    names = iris_frame()["species"].to_numpy()
    copy = np.array(["".join(list(s)) for s in names], dtype=object)
    assert names.dtype == object and all(a is not b for a, b in zip(names, copy, strict=True))
    X = np.zeros((len(names), 4), dtype=np.float32)
    estimator = sk_make_pipeline(StandardScaler(), MLPClassifier(max_iter=2))
    assert fit_key(estimator, X, names) == fit_key(estimator, X, copy)
    assert fit_key(estimator, X, names) != fit_key(estimator, X, names[::-1].copy())


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"validation_size": 119}, r"validation_size=119 holds out 119 of the 120 training rows "
                                   r"and leaves 1 to train on; each part needs one row of each "
                                   r"of the 3 classes"),
        ({"validation_size": 0.01}, r"validation_size=0.01 holds out 2 of the 120"),
        ({"validation_fraction": 0.99}, r"validation_fraction=0.99 holds out 119 .* or 0"),
        ({"cv": 50}, r"cv=50 stratified folds need 50 training rows of every class; the "
                     r"smallest class has 40"),
    ],
)  # fmt: skip
def test_splits_too_small_for_the_classes_fail_before_any_fit(tmp_path, settings, message):
    path = tmp_path / "iris.csv"
    iris_frame().to_csv(path, index=False)
    cfg = ExperimentConfig(
        data={"path": str(path), "target": "species"}, dataset="iris", epochs=2,
        space={"hidden_layer_sizes": [[8]]}, report_top=1, **settings,
    )  # fmt: skip
    with pytest.raises(ValueError, match=message):
        run_experiment(cfg, out=tmp_path / "out", verbose=False, plots=False)
    assert not list((tmp_path / "out").glob("fits/*.json"))
