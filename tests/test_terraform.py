"""Terraform for AWS, checked offline with the real tools: `terraform fmt -check`, `init` against
the local provider mirror + `validate` for every module, `terraform test` (mocked AWS provider)
for every module that has tests and for the whole stack with each environment's variables, and
checkov with no failed check and a written reason beside every skip."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, need

pytestmark = pytest.mark.infra

TERRAFORM = REPO / "terraform"
MODULES = sorted(
    p.parent.relative_to(TERRAFORM).as_posix() for p in TERRAFORM.glob("modules/*/versions.tf")
)
ROOTS = [".", "bootstrap", *MODULES]
# where machine images and users keep provider mirrors (the folder above registry.terraform.io)
MIRROR_CANDIDATES = [
    os.environ.get("TF_PLUGIN_DIR", ""),
    "/opt/tf-plugins",
    str(Path.home() / ".terraform.d" / "plugins"),
    str(Path.home() / ".local" / "share" / "terraform" / "plugins"),
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
]


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "TF_CLI_CONFIG_FILE": os.devnull,  # no user config, no network mirror
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def terraform() -> str:
    binary = shutil.which("terraform")
    need(binary is not None, "terraform not on PATH")
    return binary


@pytest.fixture(scope="module")
def plugin_dir() -> str:
    for root in filter(None, MIRROR_CANDIDATES):
        if any(Path(root).glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*")):
            return root
    need(False, "no local mirror of the hashicorp/aws provider (set TF_PLUGIN_DIR)")
    return ""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, terraform, plugin_dir) -> Path:
    """A copy of terraform/, each module initialised once from the mirror (the repo stays clean)."""
    copy = tmp_path_factory.mktemp("terraform") / "terraform"
    shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    for root in ROOTS:
        result = _run(
            [terraform, "init", "-backend=false", f"-plugin-dir={plugin_dir}", "-input=false"],
            copy / root,
        )
        assert result.returncode == 0, f"init {root}: {result.stdout}{result.stderr}"
    return copy


def test_fmt_check(terraform):
    result = _run([terraform, "fmt", "-check", "-recursive", "-diff"], TERRAFORM)
    assert result.returncode == 0, (
        f"not formatted (terraform fmt -recursive terraform):\n{result.stdout}"
    )


@pytest.mark.parametrize("root", ROOTS)
def test_validate(terraform, workdir, root):
    result = _run([terraform, "validate", "-json"], workdir / root)
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=1)
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=1)


@pytest.mark.parametrize("root", [m for m in MODULES if (TERRAFORM / m / "tests").is_dir()])
def test_module_tests(terraform, workdir, root):
    result = _run([terraform, "test", "-no-color"], workdir / root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Success! [1-9]\d* passed, 0 failed", result.stdout), result.stdout


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_stack_with_each_environment(terraform, workdir, env):
    result = _run(
        [terraform, "test", "-no-color", f"-var-file=envs/{env}/terraform.tfvars"], workdir
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Success! [1-9]\d* passed, 0 failed", result.stdout), result.stdout


def test_every_module_is_validated_and_tested():
    """A new module under terraform/modules is picked up by the tests above, and has tests."""
    assert set(MODULES) == {
        "modules/bucket", "modules/compute", "modules/data", "modules/network",
        "modules/secrets", "modules/state",
    }  # fmt: skip
    assert all((TERRAFORM / m / "tests").is_dir() for m in MODULES)


def _checkov() -> str:
    binary = REPO / ".tools" / "bin" / "checkov"
    found = str(binary) if binary.exists() else shutil.which("checkov")
    need(found is not None, "checkov not installed (`make tools` puts it in .tools/)")
    return found


def test_checkov_no_failed_check_and_every_skip_has_a_reason(tmp_path):
    env = {
        **_env(),
        "BC_SKIP_MAPPING": "TRUE",
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [
            _checkov(), "-d", str(TERRAFORM), "--framework", "terraform", "--skip-download",
            "--output", "json", "--output-file-path", str(tmp_path),
        ],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    report = json.loads((tmp_path / "results_json.json").read_text("utf-8"))
    results = report["results"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in results["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert report["summary"]["passed"] > 300  # the scan really covered the modules
    assert report["summary"]["parsing_errors"] == 0
    no_reason = [
        f"{c['check_id']} {c['resource']}"
        for c in results["skipped_checks"]
        if not (c["check_result"].get("suppress_comment") or "").strip()
    ]
    assert not no_reason, "skips without a written reason: " + ", ".join(no_reason)
    assert result.returncode == 0, result.stderr[-2000:]
