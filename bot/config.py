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
    timezone: str = "Asia/Damascus"
    watch_dir: Path = Path("seeds")
    watch_seconds: float = 60.0
    tick_seconds: float = 5.0
    max_subscriptions: int = 50
    rate_global: float = 30.0
    rate_private: float = 1.0
    rate_group_per_min: float = 20.0
    paid_broadcast: bool = False
    send_concurrency: int = 32
    max_attempts: int = 5
    retry_base: float = 2.0
    digest_when_empty: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment (or a mapping standing in for it)."""
        env = os.environ if env is None else env
        admins = frozenset(
            int(x) for x in env.get("FURAT_ADMIN_IDS", "").replace(",", " ").split() if x
        )
        seeds = env.get("FURAT_SEEDS")
        seeds_path = Path(seeds) if seeds else _default_seeds()
        flag = {"1", "true", "yes", "on"}
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            db_path=Path(env.get("FURAT_DB", "furat.db")),
            seeds=seeds_path,
            api_url=env.get("FURAT_API_URL", DEFAULT_API_URL),
            admin_ids=admins,
            mode=env.get("FURAT_MODE", "polling"),
            webhook_url=env.get("FURAT_WEBHOOK_URL", ""),
            webhook_secret=env.get("FURAT_WEBHOOK_SECRET", ""),
            listen=env.get("FURAT_LISTEN", "127.0.0.1:8443"),
            log_level=env.get("FURAT_LOG_LEVEL", "INFO").upper(),
            timezone=env.get("FURAT_TZ", "Asia/Damascus"),
            watch_dir=Path(env.get("FURAT_WATCH_DIR") or seeds_path),
            watch_seconds=float(env.get("FURAT_WATCH_SECONDS", "60")),
            tick_seconds=float(env.get("FURAT_TICK_SECONDS", "5")),
            max_subscriptions=int(env.get("FURAT_MAX_SUBSCRIPTIONS", "50")),
            rate_global=float(env.get("FURAT_RATE_GLOBAL", "30")),
            rate_private=float(env.get("FURAT_RATE_PRIVATE", "1")),
            rate_group_per_min=float(env.get("FURAT_RATE_GROUP_PER_MIN", "20")),
            paid_broadcast=env.get("FURAT_PAID_BROADCAST", "").lower() in flag,
            send_concurrency=int(env.get("FURAT_SEND_CONCURRENCY", "32")),
            max_attempts=int(env.get("FURAT_MAX_ATTEMPTS", "5")),
            retry_base=float(env.get("FURAT_RETRY_BASE", "2")),
            digest_when_empty=env.get("FURAT_DIGEST_EMPTY", "").lower() in flag,
        )
