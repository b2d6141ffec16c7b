"""The adapters directory: LoRA adapters with their manifests, and which one is promoted (the
one the `phogpt` generator loads when `generator.adapter_path` is not set)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.settings import Settings

PROMOTED = "promoted.json"


def adapters_dir(settings: Settings) -> Path:
    return settings.data_dir / "adapters"


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder}: no manifest.json (not an adapter written by vinarag train)"
        )
    return json.loads(path.read_text("utf-8"))


def list_adapters(settings: Settings) -> list[dict[str, Any]]:
    root = adapters_dir(settings)
    promoted = promoted_adapter(settings)
    found = []
    for folder in sorted(p for p in root.glob("*") if (p / "manifest.json").is_file()):
        manifest = read_manifest(folder)
        # promote() records the resolved path: compare resolved paths (data_dir may be relative)
        is_promoted = promoted is not None and folder.resolve() == Path(promoted).resolve()
        found.append({**manifest, "path": str(folder), "promoted": is_promoted})
    return found


def promote(settings: Settings, name: str) -> Path:
    folder = adapters_dir(settings) / name
    manifest = read_manifest(folder)  # raises with a clear message when it is not an adapter
    record = {"name": name, "path": str(folder.resolve()), "base_model": manifest.get("base_model")}
    (adapters_dir(settings) / PROMOTED).write_text(json.dumps(record, indent=2), "utf-8")
    return folder


def promoted_adapter(settings: Settings) -> str | None:
    return promoted_in(adapters_dir(settings))


def promoted_in(folder: Path) -> str | None:
    """The promoted adapter's folder under an adapters directory, if it still exists."""
    path = folder / PROMOTED
    if not path.is_file():
        return None
    record = json.loads(path.read_text("utf-8"))
    return record["path"] if Path(record["path"]).is_dir() else None
