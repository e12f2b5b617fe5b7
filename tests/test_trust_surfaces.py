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
