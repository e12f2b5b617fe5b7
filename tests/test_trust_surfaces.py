"""Issue 24: every new input surface (config files, results folders) under the trust rules.

Each test is numbered by the finding of issue 24 it covers, makes its hostile input
itself, and fails on the code before the fix.
"""

import os

import pytest
from test_config import write  # the config tests' file writer

from skmlp.experiment import ConfigError, ExperimentConfig, load_config


def test_1_a_config_file_cannot_name_a_dask_scheduler(tmp_path):
    # a file must not choose where the training data is sent (and whose code runs
    # in this process): only the command line names a cluster
    path = write(
        tmp_path,
        """
        [data]
        dataset = "digits"
        [search]
        dask_scheduler = "tcp://127.0.0.1:1"
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: search.dask_scheduler is not read from a config file")
    assert "--dask-scheduler ADDRESS" in message and "\n" not in message


def test_1_the_command_line_still_names_a_scheduler():
    config = ExperimentConfig(dataset="digits", dask_scheduler="tcp://127.0.0.1:8786")
    config.validate()
    assert config.dask_scheduler == "tcp://127.0.0.1:8786"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_2_a_symlinked_run_lock_is_refused_and_its_target_kept(tmp_path):
    from skmlp.experiment._files import OutputLock

    out = tmp_path / "shared"
    out.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("somebody's work\n")
    (out / OutputLock.NAME).symlink_to(precious)
    with pytest.raises(OSError, match="the lock file is a symbolic link"):
        with OutputLock(out, None, print):
            pass
    assert precious.read_text() == "somebody's work\n"


@pytest.mark.parametrize(
    "name", ["../escape", "/tmp/elsewhere", "..", ".", "a/b", "a\\b", "", "x" * 101, "..hidden"]
)
def test_7_a_config_name_is_one_folder_name(tmp_path, name):
    path = write(tmp_path, f'name = {name!r}\n[data]\ndataset = "digits"\n'.replace("'", '"'))
    with pytest.raises(ConfigError, match="must be a plain folder name"):
        load_config(path)


def test_7_ordinary_names_are_kept(tmp_path):
    for name in ("mnist-halving", "run_2", "v1.2"):
        path = write(tmp_path, f'name = "{name}"\n[data]\ndataset = "digits"\n')
        assert load_config(path).label == name


# ---------------------------------------------------------------- finding 5
def _refused(tmp_path, body, match):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message, message
    assert match in message, message
    return message


def test_5_n_iter_is_bounded_before_anything_is_planned(tmp_path):
    # a 255-byte file that took 5 GB in 20 s (the list of planned fits) before any fit
    _refused(tmp_path, '[search]\nkind = "random"\nn_iter = 1000000000\n'
             '[search.space]\nalpha = {distribution = "loguniform", low = 1e-5, high = 1e-1}\n',
             "n_iter must be an integer >= 1 and <= 10,000")  # fmt: skip


def test_5_a_grid_of_too_many_candidates_is_refused(tmp_path):
    values = ", ".join(str(v / 1000) for v in range(1, 101))
    _refused(tmp_path, f"[search.space]\nalpha = [{values}]\ntol = [{values}]\n"
             f"learning_rate_init = [{values}]\n", "1,000,000 candidates")  # fmt: skip


def test_5_a_factor_that_never_ends_is_refused(tmp_path):
    _refused(tmp_path, '[search]\nkind = "halving-grid"\nfactor = 1.0000000001\n',
             "halving rounds")  # fmt: skip


def test_5_the_network_budget_counts_what_a_fit_really_takes(tmp_path, monkeypatch):
    import skmlp._model

    # 1 GiB of memory: a (4000, 4000) network takes 16 million parameters, 257 MB at
    # the 16 bytes a parameter the budget assumed, 1.35 GB at what a fit takes
    monkeypatch.setattr(skmlp._model, "_physical_memory", lambda: 2**30)
    message = _refused(tmp_path, "[search.space]\nhidden_layer_sizes = [[64], [4000, 4000]]\n",
                       "hidden_layer_sizes=[4000, 4000] makes a network of")  # fmt: skip
    assert "84 bytes a parameter" in message


def test_5_the_exact_network_size_is_checked_before_the_first_fit(tmp_path, monkeypatch):
    import skmlp._model
    from skmlp.experiment import run_experiment

    fits = []
    monkeypatch.setattr("skmlp.MLPClassifier.fit", lambda *a, **k: fits.append(1))
    # 1 MB: (1000,) passes with one feature and one output (3,001 parameters) and not
    # with digits' 64 features and 10 classes (75,010)
    monkeypatch.setattr(skmlp._model, "_physical_memory", lambda: 2**20)
    config = ExperimentConfig(dataset="digits", space={"hidden_layer_sizes": [[1000]]},
                              epochs=1, cv=2)  # fmt: skip
    config.validate()
    with pytest.raises(ValueError, match="makes a network of 75,010 parameters"):
        run_experiment(config, out=tmp_path / "out", plots=False, verbose=False)
    assert fits == []


# ---------------------------------------------------------------- finding 9
def test_9_deeply_nested_toml_is_one_line(tmp_path):
    _refused(tmp_path, "a = " + "[" * 5000 + "]" * 5000 + "\n", "nested more than")
    _refused(tmp_path, "[search.space]\nalpha = [[[[[[[[1.0]]]]]]]]\n", "nested more than 8 deep")


def test_9_n_iter_of_2_to_the_63_is_one_line(tmp_path):
    _refused(tmp_path, '[search]\nkind = "random"\nn_iter = 9223372036854775807\n', "n_iter")


def test_9_a_distribution_for_hidden_layer_sizes_is_refused(tmp_path):
    # it crashed after all CV fits: a distribution draws one number, not a list of widths
    _refused(tmp_path, '[search]\nkind = "random"\n[search.space]\nhidden_layer_sizes = '
             '{distribution = "randint", low = 16, high = 64}\n', "list its choices")  # fmt: skip


def test_9_an_integer_setting_is_drawn_by_randint_only(tmp_path):
    _refused(tmp_path, '[search]\nkind = "random"\n[search.space]\nbatch_size = '
             '{distribution = "uniform", low = 16, high = 64}\n', "use randint")  # fmt: skip


def test_9_an_oversized_or_special_config_file_is_one_line(tmp_path):
    big = write(tmp_path, "# " + "x" * (2**20) + "\n")
    with pytest.raises(ConfigError, match="larger than 1,048,576 bytes"):
        load_config(big)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.toml"
        os.mkfifo(fifo)  # reading it would wait forever
        with pytest.raises(ConfigError, match="not a regular file"):
            load_config(fifo)


# --------------------------------------------------------------- finding 11
@pytest.mark.parametrize(
    "body, match",
    [
        ("[estimator]\nlearning_rate_init = -1.0\n", "learning_rate_init"),
        ("[estimator]\nlearning_rate_init = nan\n", "learning_rate_init"),
        ("[search]\nrandom_state = -5\n", "random_state must be an integer >= 0"),
        ("[search]\nrandom_state = 4294967296\n", "random_state must be an integer"),
        ('[search]\nkind = "halving-grid"\nfactor = inf\n', "factor must be a number > 1"),
        ("[search]\nvalidation_fraction = nan\n", "validation_fraction"),
        ("[estimator]\nbatch_size = 0\n", "batch_size"),
    ],
)
def test_11_settings_are_checked_before_the_data_loads(tmp_path, body, match):
    # load_config reads no data: a setting it accepts was checked only after the data
    # had loaded (or never)
    _refused(tmp_path, '[data]\nnpz = "does-not-exist.npz"\n' + body, match)
