"""Settings: HH_HOME roots every relative path; rules across fields hold when settings are built."""
from pathlib import Path

import pytest

from hellohome.config import env_files, load_settings
from hellohome.errors import ConfigError


def test_relative_paths_hang_off_home_and_absolute_ones_stay(tmp_path):
    s = load_settings(home=tmp_path, cache_dir=Path("/var/cache/hh"))
    assert s.stack_dir == tmp_path / ".stack" and s.cache_dir == Path("/var/cache/hh")
    assert s.data_dir == (tmp_path / ".." / "shared" / "data").resolve()


def test_hh_home_moves_the_env_files_too(tmp_path, monkeypatch):
    monkeypatch.setenv("HH_HOME", str(tmp_path))
    monkeypatch.delenv("HH_STACK_DIR", raising=False)
    assert env_files() == (tmp_path / ".env", tmp_path / ".stack" / "secrets.env")
    (tmp_path / ".stack").mkdir()
    (tmp_path / ".stack" / "secrets.env").write_text("HH_DB_APP_PASSWORD=from-the-file\n")
    assert load_settings().secret("db_app_password") == "from-the-file"


def test_a_model_and_dimension_that_disagree_are_refused_naming_both():
    with pytest.raises(ConfigError, match="HH_TEXT_VECTOR_DIM=384 but HH_TEXT_MODEL=mpnet gives 768-d"):
        load_settings(text_model="mpnet")
    assert load_settings(text_model="mpnet", text_vector_dim=768).text_vector_dim == 768
    with pytest.raises(ConfigError, match="HH_TEXT_MODEL: unknown 'bert'"):
        load_settings(text_model="bert")
    with pytest.raises(ConfigError, match="HH_DB_PORT: Input should be a valid integer"):
        load_settings(db_port="three")
