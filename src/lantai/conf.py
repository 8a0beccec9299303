"""Configuration read from the environment.

Every setting an operator may change is an environment variable (LANTAI_* or the usual
DATABASE_URL / REDIS_URL), so the same code runs embedded on one machine (SQLite, files under
var/, a local queue) or spread over several (PostgreSQL, Redis, S3) without code changes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in _TRUE


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def source_root() -> Path | None:
    """The checkout the package runs from, when installed editable (src layout)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").exists() else None


def data_dir() -> Path:
    """Where Lantai keeps its files: LANTAI_DATA_DIR, else var/ in the checkout or cwd."""
    configured = os.environ.get("LANTAI_DATA_DIR")
    if configured:
        path = Path(configured).expanduser().resolve()
    else:
        path = (source_root() or Path.cwd()) / "var"
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(directory: Path) -> str:
    """LANTAI_SECRET_KEY, else a key generated on first run and kept in the data dir (0600)."""
    configured = os.environ.get("LANTAI_SECRET_KEY")
    if configured:
        return configured
    key_file = directory / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="ascii").strip()
    key = secrets.token_urlsafe(50)
    tmp = key_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        # Another process may have won the race: keep whichever key landed first.
        os.link(tmp, key_file)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return key_file.read_text(encoding="ascii").strip()
