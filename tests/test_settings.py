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


def _leaves(value: object, prefix: str = "") -> dict[str, object]:
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, object] = {}
    for key, inner in value.items():
        out.update(_leaves(inner, f"{prefix}.{key}" if prefix else key))
    return out


def test_the_settings_file_holds_every_field_with_its_default():
    """A field added to the model but not to configs/default.yaml (or with another value
    there) fails here: the file is where users read what they can set."""
    in_file = _leaves(yaml.safe_load(DEFAULT_CONFIG.read_text("utf-8")))
    in_model = _leaves(Settings.model_construct().model_dump(mode="json"))
    assert sorted(set(in_model) - set(in_file)) == []
    assert sorted(set(in_file) - set(in_model)) == []
    differing = {k: (in_file[k], v) for k, v in in_model.items() if in_file[k] != v}
    assert differing == {}


def test_every_setting_in_the_file_has_a_comment():
    lines = DEFAULT_CONFIG.read_text("utf-8").splitlines()
    bare = [
        line.strip()
        for before, line in zip(["", *lines], lines, strict=False)
        if line.strip()
        and not line.lstrip().startswith("#")
        and not line.rstrip().endswith(":")  # a section (its comment, if any, says its role)
        and "#" not in line
        and not before.lstrip().startswith("#")
    ]
    assert bare == []


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
        # the common mistakes with keys: each names the setting as written, never a validator
        (
            "VINARAG_API_KEYS",
            '["short"]',
            "invalid setting api_keys (VINARAG_API_KEYS): key 1 is 5 characters: at least 16",
        ),
        (
            "VINARAG_API_KEYS",
            '[{"name": "hr", "key": "short"}]',
            "invalid setting api_keys.0.key (VINARAG_API_KEYS): String should have at least 16",
        ),
        (
            "VINARAG_API_KEYS",
            '[{"name": "hr"}]',
            "invalid setting api_keys.0 (VINARAG_API_KEYS): api key 'hr': give one of key or",
        ),
        ("VINARAG_API_KEYS", "[1]", "api_keys.0 (VINARAG_API_KEYS): a key is a string, or an"),
        ("VINARAG_API_KEYS", "k1,k2", "api_keys (VINARAG_API_KEYS): not valid JSON"),
        ("VINARAG_API_KEYS", '[{"name": "hr", "kye": "x"}]', "did you mean api_keys.0.key?"),
        ("VINARAG_RETRIEVAL__TOPK", "3", "retrieval.topk: not a setting; did you mean retrieval."),
        ("VINARAG_CACHE__BACKEND", "redis", "cache (VINARAG_CACHE): backend 'redis' needs cache."),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_setting(monkeypatch, env, value, expected):
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert not any(inner in message.lower() for inner in ("function-after", "value error", "__str"))
    assert "short" not in message  # a key is never printed, even a bad one


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


def test_a_typo_in_the_settings_file_names_its_path_and_the_fix(monkeypatch, tmp_path):
    config = tmp_path / "settings.yaml"
    config.write_text("retrieval:\n  top_k: zero\nrerank:\n  wieght: 1\n", "utf-8")
    monkeypatch.setenv("VINARAG_CONFIG", str(config))
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value) == (
        "invalid setting retrieval.top_k (VINARAG_RETRIEVAL__TOP_K): Input should be a valid "
        "integer, unable to parse string as an integer (got 'zero'); invalid setting "
        "rerank.wieght: not a setting; did you mean rerank.weight? (got 1)"
    )
