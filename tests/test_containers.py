"""The Dockerfile and docker-compose.yaml, checked without a container engine (none runs here):
hadolint and checkov on the Dockerfile, its structure (stages, non-root user, health check, no
weights), the image's runtime settings serving /healthz from this checkout with the image's own
HEALTHCHECK command, and Debian's docker-compose resolving the compose file with .env.example."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tests.helpers import REPO, free_port, need

pytestmark = pytest.mark.infra

DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text("utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def _tool(name: str) -> str:
    local = REPO / ".tools" / "bin" / name
    found = str(local) if local.exists() else shutil.which(name)
    need(found is not None, f"{name} not installed (`make tools` puts it in .tools/)")
    return found


# --- Dockerfile -----------------------------------------------------------------------------


def test_hadolint_passes():
    result = subprocess.run([_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_on_the_dockerfile(tmp_path):
    result = subprocess.run(
        [
            _tool("checkov"), "-f", str(DOCKERFILE), "--framework", "dockerfile",
            "--skip-download", "--output", "json", "--output-file-path", str(tmp_path),
        ],
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads((tmp_path / "results_json.json").read_text("utf-8"))
    assert report["summary"]["failed"] == 0, report["results"]["failed_checks"]
    assert report["summary"]["passed"] > 0 and result.returncode == 0


def test_multi_stage_non_root_with_a_healthcheck_and_no_weights():
    steps = _instructions()
    stages = [args for op, args in steps if op == "FROM"]
    assert len(stages) >= 2 and " AS builder" in stages[0] and " AS runtime" in stages[-1]
    final = _final_stage()
    users = [args for op, args in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}, "the image runs as non-root"
    health = " ".join(args for op, args in final if op == "HEALTHCHECK")
    assert "/healthz" in health
    # CPU by default, CUDA by build argument: the torch wheel index follows VARIANT
    assert "ARG VARIANT=cpu" in {f"{op} {args}" for op, args in steps}
    assert any("download.pytorch.org/whl/${VARIANT}" in args for op, args in steps if op == "RUN")
    # no weights: nothing model-shaped is copied, models are a volume
    copied = [args for op, args in steps if op in {"COPY", "ADD"}]
    assert not any(re.search(r"models?|\.safetensors|\.bin\b|adapters", c) for c in copied)
    assert any("/models" in args for op, args in final if op == "VOLUME")


def test_every_copied_path_exists_and_every_package_is_copied():
    sources = []
    for op, args in _instructions():
        if op == "COPY" and "--from=" not in args:
            parts = [p for p in shlex.split(args) if not p.startswith("--")]
            sources += parts[:-1]
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    pyproject = (REPO / "pyproject.toml").read_text("utf-8")
    packages = re.search(r"include = \[(.*?)\]", pyproject).group(1)
    for package in re.findall(r'"(\w+)\*"', packages):
        assert f"{package}/" in sources, f"package {package} is not copied into the image"
    ignored = (REPO / ".dockerignore").read_text("utf-8").split()
    for private in (".env", "data", ".venv", ".git"):
        assert private in ignored, f"{private} must stay out of the build context"


def test_the_image_settings_serve_healthz_and_pass_its_healthcheck(tmp_path):
    """Runs `vinarag serve` with the image's ENV (its paths mapped onto this checkout and
    tmp_path) and then the image's own HEALTHCHECK command against it."""
    env_lines = " ".join(args for op, args in _final_stage() if op == "ENV")
    image_env = dict(
        shlex.split(pair)[0].split("=", 1) for pair in re.findall(r"\S+=\S+", env_lines)
    )
    assert image_env["VINARAG_SERVER__HOST"] == "0.0.0.0"  # reachable from outside the container
    port = free_port()
    mapped = {
        "/app/configs": str(REPO / "configs"),
        "/data": str(tmp_path / "data"),
        "/models": str(tmp_path / "models"),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("VINARAG_")}
    for key, value in image_env.items():
        if key == "PATH":
            continue
        for image_path, here in mapped.items():
            value = value.replace(image_path, here)
        env[key] = value
    env["VINARAG_SERVER__PORT"] = str(port)
    vinarag = str(Path(sys.executable).with_name("vinarag"))
    server = subprocess.Popen(
        [vinarag, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", server)
        health = next(args for op, args in _final_stage() if op == "HEALTHCHECK")
        command = json.loads(health.split("CMD", 1)[1].strip())
        command = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in command]
        command[0] = sys.executable  # the image's `python`
        assert subprocess.run(command, timeout=30).returncode == 0
        assert (tmp_path / "data" / "edge").is_dir(), "state goes under VINARAG_DATA_DIR"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Traceback" not in output, output


def _wait_for(url: str, server: subprocess.Popen, seconds: float = 120) -> None:
    for _ in range(int(seconds / 0.25)):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        try:
            server.wait(timeout=0.25)  # waits, and notices a server that died
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"server exited early: {server.stdout.read()}")
    pytest.fail(f"{url} did not answer within {seconds} s")


# --- docker-compose.yaml --------------------------------------------------------------------

SERVICES = {
    "api", "qdrant", "redis", "redis-exporter", "postgres", "prometheus", "prometheus-secrets",
    "grafana", "rabbitmq", "ingest-writer", "ingest-steps",
    "langfuse-web", "langfuse-worker", "clickhouse", "minio", "vllm",
}  # fmt: skip
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|_KEYS$|TOKEN|SALT|AUTH")


@pytest.fixture(scope="module")
def compose() -> str:
    binary = shutil.which("docker-compose")
    need(binary is not None, "docker-compose not installed (Debian package; make test installs it)")
    return binary


def _config(compose: str, env_file: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not SECRET_NAME.search(k)}
    return subprocess.run(
        [compose, "-f", str(COMPOSE), "--env-file", str(env_file), *extra, "config"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_compose_validates_with_the_example_env(compose):
    quiet = _config(compose, ENV_EXAMPLE, "--profile", "gpu")
    assert quiet.returncode == 0, quiet.stderr
    config = yaml.safe_load(quiet.stdout)
    services = config["services"]
    assert set(services) == SERVICES
    assert services["vllm"]["profiles"] == ["gpu"]
    assert all("profiles" not in s for name, s in services.items() if name != "vllm")
    gpu = services["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]
    api = services["api"]["environment"]
    assert api["VINARAG_GENERATOR__BASE_URL"] == "http://vllm:8000/v1"
    assert api["QDRANT_URL"] == "http://qdrant:6333"
    assert api["REDIS_URL"].startswith("redis://") and api["POSTGRES_URL"].startswith("postgres")
    # the ingestion queue: the API sends, the workers run, all on one broker and one uploads
    # volume
    assert (
        api["CELERY_BROKER_URL"].startswith("amqp://")
        and "@rabbitmq:5672" in api["CELERY_BROKER_URL"]
    )
    for worker, role in (("ingest-writer", "jobs"), ("ingest-steps", "steps")):
        assert services[worker]["environment"] == api
        assert services[worker]["command"][:4] == ["vinarag", "worker", "--role", role]
        assert any(":/uploads" in v for v in services[worker]["volumes"])


def test_healthchecks_named_volumes_and_mounted_configs(compose):
    config = yaml.safe_load(_config(compose, ENV_EXAMPLE).stdout)
    services = config["services"]
    # api: the image's HEALTHCHECK; redis-exporter: a scratch image, watched through `up`;
    # prometheus-secrets: a one-shot job Prometheus waits for
    unchecked = {name for name, s in services.items() if "healthcheck" not in s}
    assert unchecked == {"api", "redis-exporter", "prometheus-secrets"}
    for name in ("qdrant", "redis", "postgres", "prometheus", "grafana", "clickhouse", "minio",
                 "rabbitmq"):  # fmt: skip
        assert any(v["type"] == "volume" for v in _volumes(services[name])), name
    assert set(config["volumes"]) >= {"qdrant-data", "redis-data", "postgres-data", "api-data"}
    for service in ("prometheus", "grafana", "postgres"):
        for bind in (v for v in _volumes(services[service]) if v["type"] == "bind"):
            assert Path(bind["source"]).exists(), f"{service} mounts a missing {bind['source']}"


def _volumes(service: dict) -> list[dict]:
    """docker-compose 1.29 prints volumes as SOURCE:TARGET[:MODE] strings."""
    out = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        kind = "bind" if source.startswith(("/", ".")) else "volume"
        out.append({"type": kind, "source": source, "target": target})
    return out


def test_no_secret_in_the_compose_file_and_each_is_in_the_example():
    raw = yaml.safe_load(COMPOSE.read_text("utf-8"))
    blocks = [raw.get("x-langfuse-env", {})] + [
        s.get("environment", {}) for s in raw["services"].values()
    ]
    for block in blocks:
        for key, value in block.items():
            if key.startswith("<<") or not SECRET_NAME.search(key):
                continue
            assert "${" in str(value), f"{key} has a literal value in docker-compose.yaml"
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text("utf-8")))
    example = set(re.findall(r"^(\w+)=", ENV_EXAMPLE.read_text("utf-8"), re.M))
    assert required and required <= example, f"missing from .env.example: {required - example}"


def test_a_missing_secret_is_refused_by_name(compose, tmp_path):
    partial = tmp_path / ".env"
    partial.write_text(
        "".join(
            line + "\n"
            for line in ENV_EXAMPLE.read_text("utf-8").splitlines()
            if not line.startswith("POSTGRES_PASSWORD=")
        ),
        "utf-8",
    )
    result = _config(compose, partial)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr
