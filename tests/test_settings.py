import subprocess
import sys

import pytest
import yaml

from tools.settings import DEFAULT_CONFIG, Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("VINARAG_") or key.startswith("QDRANT_"):
            monkeypatch.delenv(key)


def test_yaml_defaults_load_and_every_key_is_known():
    data = yaml.safe_load(DEFAULT_CONFIG.read_text("utf-8"))
    settings = load_settings()
    assert settings.retrieval.top_k == data["retrieval"]["top_k"]
    assert Settings.model_validate(data)  # extra="forbid": a typo in the YAML fails here


def test_env_overrides_nested_and_plain_service_urls(monkeypatch, tmp_path):
    monkeypatch.setenv("VINARAG_RETRIEVAL__TOP_K", "7")
    monkeypatch.setenv("VINARAG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QDRANT_URL", "http://qdrant:6333")
    settings = load_settings()
    assert settings.retrieval.top_k == 7
    assert settings.data_dir == tmp_path
    assert settings.qdrant.url == "http://qdrant:6333"


def test_service_urls_switch_their_backend_unless_another_was_chosen(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("POSTGRES_URL", "postgresql://vinarag@db/vinarag")
    settings = load_settings()
    assert (settings.cache.backend, settings.cache.redis_url) == ("redis", "redis://redis:6379/0")
    assert settings.memory.backend == "postgres"
    monkeypatch.setenv("VINARAG_MEMORY__BACKEND", "none")
    assert load_settings().memory.backend == "none"


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        (
            "VINARAG_RETRIEVAL__TOP_K",
            "-3",
            "invalid setting retrieval.top_k (VINARAG_RETRIEVAL__TOP_K)",
        ),
        ("VINARAG_RETRIEVAL__MODE", "magic", "invalid setting retrieval.mode"),
        ("VINARAG_DENSE__MODEL", "/no/such/model", "model path does not exist: /no/such/model"),
        ("VINARAG_CHUNKING__OVERLAP", "5000", "must be smaller than size"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_setting(monkeypatch, env, value, expected):
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_config_file(monkeypatch, tmp_path):
    monkeypatch.setenv("VINARAG_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(SettingsError, match="VINARAG_CONFIG"):
        load_settings()


def test_cli_exits_2_on_a_bad_setting(monkeypatch):
    monkeypatch.setenv("VINARAG_RERANK__KIND", "cross_encoder")
    result = subprocess.run(
        [sys.executable, "-m", "tools.cli", "documents"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "invalid setting rerank" in result.stderr and "rerank.model" in result.stderr
