"""Settings: HH_HOME roots every relative path; rules across fields hold when settings are built."""
from pathlib import Path

import pytest

from hellohome.config import SECRET_FIELDS, env_files, get_settings, load_settings
from hellohome.errors import ConfigError
from hellohome.stack.mariadb import ensure_secrets


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


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):
    """A home with no secrets anywhere yet (a fresh machine); the process's settings re-read after."""
    monkeypatch.setenv("HH_HOME", str(tmp_path))
    monkeypatch.delenv("HH_STACK_DIR", raising=False)
    for name in SECRET_FIELDS:
        monkeypatch.delenv(f"HH_{name.upper()}", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    get_settings.cache_clear()


def test_secrets_generated_on_a_fresh_machine_are_seen_by_the_rest_of_the_process(fresh_home):
    """`hellohome up` reads settings, starts the stack (which generates the secrets), then migrates
    with get_settings(): that read must see them (it failed on a fresh clone: "HH_DB_OWNER_PASSWORD
    is not set")."""
    before = get_settings()
    assert before.db_owner_password is None
    filled = ensure_secrets(before)
    assert get_settings().secret("db_owner_password") == filled.secret("db_owner_password")
    assert (fresh_home / ".stack" / "secrets.env").stat().st_mode & 0o777 == 0o600
    assert ensure_secrets(get_settings()) == get_settings()  # a second start generates nothing
