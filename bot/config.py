"""Settings read once from the environment; the README documents every variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_API_URL = "https://api.telegram.org/bot"


def _default_seeds() -> Path:
    """Prefer ./seeds, else the seeds folder beside the source checkout."""
    here = Path("seeds")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "seeds"


@dataclass(frozen=True)
class Settings:
    """Everything the process can be configured with."""

    token: str = ""
    db_path: Path = Path("furat.db")
    seeds: Path = Path("seeds")
    api_url: str = DEFAULT_API_URL
    admin_ids: frozenset[int] = frozenset()
    mode: str = "polling"
    webhook_url: str = ""
    webhook_secret: str = ""
    listen: str = "127.0.0.1:8443"
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment (or a mapping standing in for it)."""
        env = os.environ if env is None else env
        admins = frozenset(
            int(x) for x in env.get("FURAT_ADMIN_IDS", "").replace(",", " ").split() if x
        )
        seeds = env.get("FURAT_SEEDS")
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            db_path=Path(env.get("FURAT_DB", "furat.db")),
            seeds=Path(seeds) if seeds else _default_seeds(),
            api_url=env.get("FURAT_API_URL", DEFAULT_API_URL),
            admin_ids=admins,
            mode=env.get("FURAT_MODE", "polling"),
            webhook_url=env.get("FURAT_WEBHOOK_URL", ""),
            webhook_secret=env.get("FURAT_WEBHOOK_SECRET", ""),
            listen=env.get("FURAT_LISTEN", "127.0.0.1:8443"),
            log_level=env.get("FURAT_LOG_LEVEL", "INFO").upper(),
        )
