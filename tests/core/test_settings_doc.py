"""Every settings key is documented in config/linli.example.yaml, and that file loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from config.settings import CONFIG_DIR, Settings, load_settings

EXAMPLE = CONFIG_DIR / "linli.example.yaml"


def keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for name, field in model.model_fields.items():
        found.add(prefix + name)
        annotation: Any = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found |= keys(annotation, f"{prefix}{name}.")
    return found


def flatten(data: dict[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for key, value in data.items():
        found.add(prefix + key)
        if isinstance(value, dict) and value:
            found |= flatten(value, f"{prefix}{key}.")
    return found


def test_every_key_is_documented() -> None:
    documented = flatten(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    missing = keys(Settings) - documented
    assert not missing, f"add these keys to {EXAMPLE.name}: {sorted(missing)}"


def test_the_example_file_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LINLI_CONFIG", str(EXAMPLE))
    settings = load_settings()
    assert settings.http.port == 8080
