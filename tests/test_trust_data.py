"""Issue 24, the data side: own data read within a byte budget (finding 4), a target of
the wrong kind (9) and a test file that is the training file (11) refused before any fit.

Each hostile file is made by the test (``tests/_hostile_data.py``), small, under a small
``SKMLP_DATA_BUDGET``; each of these tests fails on the code before the fix.
"""

import numpy as np
import pandas as pd
import pytest
from _hostile_data import csv_gz_bomb, csv_wide, npz_bomb, npz_declared, parquet_bomb

from skmlp.experiment import ConfigError, ExperimentConfig
from skmlp.experiment.data import load_data

MB = 2**20


def config(**data):
    return ExperimentConfig(data=data, dataset="own", random_state=0)


def refusal(spec, path, **settings) -> str:
    cfg = config(**spec)
    for name, value in settings.items():
        setattr(cfg, name, value)
    with pytest.raises(ConfigError) as info:
        load_data(cfg)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


@pytest.fixture
def budget(monkeypatch):
    monkeypatch.setenv("SKMLP_DATA_BUDGET", "4M")
    return 4 * MB


def test_4_the_budget_is_one_gib_by_default_and_set_by_the_environment(monkeypatch):
    from skmlp._features import FeatureFileError, memory_budget

    monkeypatch.delenv("SKMLP_DATA_BUDGET", raising=False)
    assert memory_budget() <= 2**30
    monkeypatch.setenv("SKMLP_DATA_BUDGET", "3G")
    assert memory_budget() == 3 * 2**30
    for bad in ("lots", "-1", "10", "9" * 20):
        monkeypatch.setenv("SKMLP_DATA_BUDGET", bad)
        with pytest.raises(FeatureFileError, match="SKMLP_DATA_BUDGET="):
            memory_budget()


def test_4_an_npz_that_expands_past_the_budget_is_refused_before_it_is_read(tmp_path, budget):
    path = npz_bomb(tmp_path / "bomb.npz", 3 * budget)  # really expands, 3 KB on disk
    message = refusal({"npz": str(path)}, path)
    assert "declares" in message and "memory budget" in message and "SKMLP_DATA_BUDGET" in message


def test_4_an_npz_member_cannot_claim_more_than_its_compressed_bytes(tmp_path):
    path = npz_declared(tmp_path / "declared.npz", 6 * 10**9)  # 400 bytes, claiming 6 GB
    assert path.stat().st_size < 2000
    assert "compressed bytes can hold" in refusal({"npz": str(path)}, path)


@pytest.mark.parametrize(
    "member, message",
    [
        (dict(name="X.npy", compress_type=12), "compressed other than"),  # bzip2
        (dict(name="X", compress_type=8), "unexpected member 'X'"),
        (dict(name="X.npy", descr=[("a", "<f8"), ("b", "<i4")]), "holds [("),
        (dict(name="y.npy", descr="<M8[ns]"), "holds datetime64[ns] values"),
        (dict(name="y.npy", descr="<c16"), "holds complex128 values"),
        (dict(name="X.npy", twice=True), "holds 'X.npy' twice"),
    ],
    ids=["bzip2", "not-npy", "structured", "datetime", "complex", "duplicate"],
)
def test_4_npz_members_of_other_kinds_are_refused(tmp_path, member, message):
    import io
    import warnings
    import zipfile

    path, buf = tmp_path / "odd.npz", io.BytesIO()
    descr = member.get("descr", "<f8")
    np.save(buf, np.zeros(4, dtype=np.dtype(descr) if isinstance(descr, str) else descr))
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as z:
        warnings.simplefilter("ignore")  # a duplicate name
        for _ in range(2 if member.get("twice") else 1):
            z.writestr(zipfile.ZipInfo(member["name"]), buf.getvalue(),
                       compress_type=member.get("compress_type", 8))  # fmt: skip
        other = "y.npy" if member["name"].startswith("X") else "X.npy"
        z.writestr(other, np.lib.format.header_data_from_array_1_0(np.zeros(4)) and b"")
    assert message in refusal({"npz": str(path)}, path)


def test_4_a_csv_gz_is_counted_while_it_decompresses_once(tmp_path, budget, monkeypatch):
    import gzip

    path = csv_gz_bomb(tmp_path / "bomb.csv.gz", 10 * budget)
    opened = []
    real = gzip.open
    monkeypatch.setattr(gzip, "open", lambda *a, **k: opened.append(a) or real(*a, **k))
    message = refusal({"path": str(path), "target": "target"}, path)
    assert "decompresses to more than 524,288 bytes of text" in message
    assert "memory budget of 4,194,304 bytes" in message
    assert len(opened) == 1  # decompressed once, not once for the budget and once to parse


def test_4_a_legit_csv_gz_under_the_budget_still_reads(tmp_path, budget):
    # ordinary use (passes before too): the same reader, under the budget
    path = csv_gz_bomb(tmp_path / "small.csv.gz", 50_000, columns=4)
    data = load_data(config(path=str(path), target="target"))
    assert data.X_train.shape[1] == 4 and set(np.unique(data.y_train)) == {0, 1}


def test_4_a_csv_row_of_millions_of_cells_is_refused_before_it_is_split(tmp_path):
    path = csv_wide(tmp_path / "wide.csv.gz", 200_000)
    assert "more than 10,000 cells, the limit" in refusal(
        {"path": str(path), "target": "target"}, path
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ('a,target\n"' + "x" * 200_000 + '",1\n', "not a CSV row (field larger than field limit"),
        ("a,target\n" + "1," * 600_000 + "1\n", "row of more than 1,000,000 characters"),
    ],
    ids=["huge-cell", "huge-row"],
)
def test_4_csv_cells_and_rows_are_bounded(tmp_path, text, message):
    path = tmp_path / "odd.csv"
    path.write_text(text)
    assert message in refusal({"path": str(path), "target": "target"}, path)


def test_4_a_damaged_csv_gz_is_a_one_line_error(tmp_path):
    import gzip

    path = tmp_path / "damaged.csv.gz"
    data = bytearray(gzip.compress(b"a,target\n" + b"1,2\n" * 10_000))
    data[20:40] = b"\xff" * 20
    path.write_bytes(bytes(data))
    assert "cannot be read" in refusal({"path": str(path), "target": "target"}, path)


def test_4_a_parquet_text_column_is_not_decoded_row_by_row(tmp_path, budget, monkeypatch):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = parquet_bomb(tmp_path / "bomb.parquet", 50 * budget)  # 200 MB of text once decoded
    meta = pq.ParquetFile(path).metadata
    assert path.stat().st_size < 100_000 and meta.row_group(0).total_byte_size < budget
    monkeypatch.setattr(pd, "read_parquet", lambda *a, **k: pytest.fail("decoded it whole"))
    message = refusal({"path": str(path), "target": "target"}, path, preprocessing="standard")
    assert "feature column 'note' is not numeric (e.g. 'AAAA" in message and len(message) < 400


def test_4_parquet_rows_past_the_budget_are_refused_before_decoding(tmp_path, budget):
    pytest.importorskip("pyarrow")
    path = tmp_path / "long.parquet"
    pd.DataFrame({"x": np.zeros(600_000), "target": np.arange(600_000) % 2}).to_parquet(path)
    message = refusal({"path": str(path), "target": "target"}, path)
    assert "declares 600,000 rows of 16 bytes, more than the memory budget" in message


def test_4_a_parquet_table_too_wide_is_refused(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "wide.parquet"
    pd.DataFrame(np.zeros((1, 10_001)), columns=[f"c{i}" for i in range(10_001)]).assign(
        target=1
    ).to_parquet(path)
    assert "columns, more than the limit of 10,000" in refusal(
        {"path": str(path), "target": "target"}, path
    )


# ----------------------------------------------------------------- finding 9
@pytest.mark.parametrize(
    "values, kind",
    [
        (pd.date_range("2020-01-01", periods=40, freq="D"), "timestamp["),
        (pd.to_timedelta(np.arange(40), unit="s"), "duration["),
    ],
    ids=["timestamp", "timedelta"],
)
def test_9_a_parquet_target_of_dates_is_refused_when_read(tmp_path, values, kind):
    pytest.importorskip("pyarrow")
    path = tmp_path / "dates.parquet"
    pd.DataFrame({"x": np.arange(40.0), "target": values}).to_parquet(path)
    message = refusal({"path": str(path), "target": "target"}, path)
    assert f"the target column 'target' holds {kind}" in message


def test_9_a_target_of_mixed_kinds_is_refused_when_read(tmp_path):
    from skmlp.experiment.data import _split_table

    frame = pd.DataFrame({"x": np.arange(6.0), "target": ["a", 1, "b", 2, "a", 1]})
    with pytest.raises(ConfigError, match="holds mixed-integer values; a target is numbers"):
        _split_table(frame, "target", "t.parquet")


def test_9_an_npz_target_of_dates_is_refused_when_read(tmp_path):
    path = tmp_path / "dates.npz"
    np.savez(path, X=np.zeros((4, 2)), y=np.arange(4).astype("datetime64[D]"))
    assert "holds datetime64[D] values" in refusal({"npz": str(path)}, path)


# ---------------------------------------------------------------- finding 11
def test_11_the_test_file_cannot_be_the_training_file(tmp_path):
    import os

    frame = pd.DataFrame({"x": np.arange(20.0), "target": np.arange(20) % 2})
    frame.to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "sub").mkdir()
    spellings = [tmp_path / "train.csv", tmp_path / "sub" / ".." / "train.csv"]
    if hasattr(os, "link"):
        os.link(tmp_path / "train.csv", tmp_path / "hardlink.csv")
        spellings.append(tmp_path / "hardlink.csv")
    (tmp_path / "copy.csv").write_bytes((tmp_path / "train.csv").read_bytes())
    spellings.append(tmp_path / "copy.csv")
    for test_path in spellings:
        spec = {
            "path": str(tmp_path / "train.csv"),
            "target": "target",
            "test_path": str(test_path),
        }
        with pytest.raises(ConfigError, match="is the training file") as info:
            load_data(config(**spec))
        assert "\n" not in str(info.value)


def test_11_another_test_file_still_reads(tmp_path):
    # ordinary use (passes before too)
    frame = pd.DataFrame({"x": np.arange(20.0), "target": np.arange(20) % 2})
    frame.iloc[:14].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[14:].to_csv(tmp_path / "test.csv", index=False)
    spec = {"path": str(tmp_path / "train.csv"), "target": "target",
            "test_path": str(tmp_path / "test.csv")}  # fmt: skip
    data = load_data(config(**spec))
    assert len(data.y_train) == 14 and len(data.y_test) == 6


def test_4_every_case_writes_its_inputs_and_a_run_command():
    from _hostile_data import CASES

    assert {finding for finding, _, _ in CASES} == {4}
    assert len({name for _, name, _ in CASES}) == len(CASES)
