"""Search files: every error a config can hold is named before anything runs."""

import textwrap

import pytest

from skmlp.experiment import SEED_CONFIG, ConfigError, ExperimentConfig, load_config


def write(tmp_path, text, name="search.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_full_config_reads(tmp_path):
    path = write(
        tmp_path,
        """
        name = "mnist-halving"
        [data]
        dataset = "mnist"
        n_train = 3000
        [preprocessing]
        scaler = "pixels"
        [estimator]
        max_iter = 30
        batch_size = 128
        learning_rate = "cosine"
        input_dropout = 0.2
        max_norm = 3.5
        [search]
        kind = "halving-random"
        n_iter = 12
        resource = "epochs"
        factor = 3
        validation_size = 0.2
        random_state = 7
        report_top = 2
        [search.space]
        hidden_layer_sizes = [[512, 512], [1024, 1024]]
        dropout = { distribution = "uniform", low = 0.2, high = 0.5 }
        learning_rate_init = { distribution = "loguniform", low = 1e-4, high = 3e-3 }
        weight_decay = [0.0, 1e-4]
        """,
    )
    config = load_config(path)
    assert config.label == "mnist-halving" and config.dataset == "mnist"
    assert config.epochs == 30 and config.batch_size == 128 and config.n_train == 3000
    assert config.estimator == {"learning_rate": "cosine", "input_dropout": 0.2, "max_norm": 3.5}
    assert config.search == "halving-random" and config.validation_size == 0.2
    (space,) = config.param_space()
    assert space["mlp__hidden_layer_sizes"] == [(512, 512), (1024, 1024)]
    assert 0.2 <= space["mlp__dropout"].rvs(random_state=0) <= 0.5
    assert space["mlp__learning_rate_init"].dist.name == "loguniform"
    # the settings are the run's identity; where the fits run is not
    again = load_config(path)
    again.dask_scheduler = "tcp://elsewhere:8786"
    assert again.key() == config.key()


def test_the_seed_config_is_the_six_architectures():
    space = SEED_CONFIG.param_space()
    assert len(space) == 6
    assert space[0] == {"mlp__hidden_layer_sizes": [(256, 64)], "mlp__batch_norm": [False],
                        "mlp__dropout": [0.0]}  # fmt: skip
    assert SEED_CONFIG.search == "grid" and SEED_CONFIG.cv == 3 and SEED_CONFIG.epochs == 20


def test_architectures_combine_with_other_settings(tmp_path):
    path = write(
        tmp_path,
        """
        [search.space]
        architecture = ["mlp2", "mlp3-bn-do"]
        learning_rate_init = [1e-3, 1e-2]
        """,
    )
    space = load_config(path).param_space()
    assert [d["mlp__hidden_layer_sizes"] for d in space] == [[(256, 64)], [(1024, 512, 256)]]
    assert all(d["mlp__learning_rate_init"] == [1e-3, 1e-2] for d in space)


@pytest.mark.parametrize(
    "text, message",
    [
        # unknown keys, at every level
        ("colour = 'red'", "unknown key 'colour' in [the top level]"),
        ("[data]\nfolder = 'x'", "unknown key 'folder' in [data]"),
        ("[search]\nkinds = 'grid'", "unknown key 'kinds' in [search]"),
        ("[estimator]\nhidden_layers = [3]", "unknown key 'hidden_layers' in [estimator]"),
        ("[search.space]\nwidth = [3]", "unknown key 'width' in [search.space]"),
        ("[estimator]\nrandom_state = 3", "unknown key 'random_state' in [estimator]"),
        # wrong types
        ("[search]\ncv = '3'", "search.cv must be an integer, got str '3'"),
        ("[search]\ncv = true", "search.cv must be an integer, got bool True"),
        ("[search]\nn_iter = 2.5", "search.n_iter must be an integer"),
        ("name = 3", "name must be a string"),
        ("[estimator]\ndropout = 'high'", "estimator.dropout"),
        ("[estimator]\nmax_iter = 'ten'", "epochs must be an integer"),
        (
            "[search.space]\ndropout = 0.3",
            "search.space.dropout must be a list of 1 to 1000 values",
        ),
        ("[search.space]\ndropout = []", "search.space.dropout must be a list of 1 to 1000 values"),
        ("[search.space]\ndropout = [0.1, 1.5]", "search.space.dropout"),
        ("data = 3", "[data] must be a table"),
        # bad distributions
        (
            "[search]\nkind = 'random'\n[search.space]\ndropout = {distribution = 'normal', "
            "low = 0, high = 1}",
            "unknown distribution 'normal'",
        ),
        (
            "[search]\nkind = 'random'\n[search.space]\ndropout = {distribution = 'uniform', "
            "low = 0.5}",
            "takes exactly 'low' and 'high'",
        ),
        (
            "[search]\nkind = 'random'\n[search.space]\ndropout = {distribution = 'uniform', "
            "low = 0.1, high = 0.5, mean = 0.3}",
            "(unknown: mean)",
        ),
        (
            "[search]\nkind = 'random'\n[search.space]\ndropout = {distribution = 'uniform', "
            "low = 0.5, high = 0.1}",
            "low must be below high",
        ),
        (
            "[search]\nkind = 'random'\n[search.space]\nlearning_rate_init = {distribution = "
            "'loguniform', low = 0, high = 0.1}",
            "needs low > 0",
        ),
        (
            "[search]\nkind = 'random'\n[search.space]\nbatch_size = {distribution = 'randint', "
            "low = 16.5, high = 64}",
            "low must be an integer",
        ),
        (
            "[search]\nkind = 'random'\n[search.space]\ndropout = {distribution = 'uniform', "
            "low = 0.1, high = 1.5}",
            "search.space.dropout",
        ),
        (
            "[search.space]\ndropout = {distribution = 'uniform', low = 0.1, high = 0.5}",
            "a grid search needs a list of values",
        ),
        # settings that cannot go together or are out of range
        ("[search]\nkind = 'bayes'", "search must be one of grid, random"),
        ("[search]\nresource = 'hours'", "resource must be 'epochs' or 'samples'"),
        ("[search]\nfactor = 1", "factor must be a number > 1"),
        ("[search]\nvalidation_size = 1.5", "validation_size must be a fraction"),
        ("[search]\ncv = 1", "cv must be an integer >= 2"),
        (
            "[search]\nkind = 'halving-grid'\n[search.space]\nmax_iter = [5, 10]",
            "a halving search over epochs sets max_iter itself",
        ),
        ("[search.space]\narchitecture = ['mlp9']", "search.space.architecture"),
        ("[search.space]\narchitecture = ['mlp2']\ndropout = [0.1]", "which an architecture sets"),
        ("[data]\ndataset = 'cifar'", "unknown dataset 'cifar'"),
        ("[data]\ndataset = 'mnist'\nsklearn = 'iris'", "name one source"),
        ("[preprocessing]\nscaler = 'robust'", "preprocessing must be one of"),
        ("this is not toml", "not a valid TOML file"),
    ],
)
def test_every_config_error_is_named(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=None) as info:
        load_config(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)  # which file


def test_a_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config"):
        load_config(tmp_path / "nope.toml")


def test_the_cli_refuses_experiment_flags_beside_a_config(tmp_path, capsys):
    from skmlp.cli import main

    path = write(tmp_path, "[search]\ncv = 2")
    assert main(["run", "--config", str(path), "--epochs", "3", "--out", str(tmp_path)]) == 2
    assert "--epochs: with --config, set these in the config file" in capsys.readouterr().err
    bad = write(tmp_path, "[search]\ncv = 'x'", "bad.toml")
    assert main(["run", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "search.cv must be an integer" in capsys.readouterr().err


def test_config_validate_is_what_run_experiment_checks():
    with pytest.raises(ConfigError, match="report_top"):
        ExperimentConfig(report_top=0).validate()


def test_the_readme_config_is_valid(tmp_path):
    # a README claim is a test: its example search file reads and checks
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    (block,) = re.findall(r"```toml\n(.*?)```", readme, re.S)
    config = load_config(write(tmp_path, block))
    assert config.search == "halving-random" and config.data["target"] == "label"
    assert config.data["path"] == str(tmp_path / "train.csv")


@pytest.mark.parametrize(
    "name", ["mnist-99.toml", "mnist-99-1024.toml", "mnist-99-deep.toml", "fashion-mnist-90.toml"]
)
def test_the_recorded_configs_are_valid(name):
    from pathlib import Path

    config = load_config(Path(__file__).parent.parent / "benchmarks" / "configs" / name)
    assert config.validation_size == 10000 and config.search == "halving-random"
    # one validation split for every recorded search: their survivors compare by it
    assert config.random_state == 0


def test_the_seed_config_file_spells_out_the_builtin_one():
    from pathlib import Path

    config = load_config(Path(__file__).parent.parent / "benchmarks" / "configs" / "seed.toml")
    assert config.param_space() == SEED_CONFIG.param_space()
    for name in ("dataset", "cv", "epochs", "batch_size", "learning_rate_init", "search",
                 "validation_fraction", "report_top", "random_state", "estimator"):  # fmt: skip
        assert getattr(config, name) == getattr(SEED_CONFIG, name), name
