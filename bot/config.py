"""Settings read once from the environment; the README documents every variable."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from handlers.timeparse import BadTime, parse_zone
from storage.pg import is_postgres_url, without_password

DEFAULT_API_URL = "https://api.telegram.org/bot"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
N = TypeVar("N", int, float)


class SettingsError(ValueError):
    """A setting in the environment is malformed or out of range; the message says which."""


# Where seeds are looked for when FURAT_SEEDS is unset, in order: the current folder, the copy
# installed with the package (pyproject maps seeds/ to bot/seeds), the source checkout.
SEED_PLACES = (
    Path("seeds"),
    Path(__file__).resolve().parent / "seeds",
    Path(__file__).resolve().parent.parent / "seeds",
)


def _default_seeds(places: tuple[Path, ...] = SEED_PLACES) -> Path:
    """Return the first seeds folder that exists, else the last place looked at."""
    return next((place for place in places if place.is_dir()), places[-1])


@dataclass(frozen=True)
class Settings:
    """Everything the process can be configured with."""

    token: str = ""
    db_path: Path = Path("furat.db")
    db_url: str = ""  # a postgresql:// URL in FURAT_DB: PostgreSQL instead of the SQLite file
    index: str = ""  # folder of the derived search index; "" beside a SQLite file, "off": none
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
    shutdown_grace: float = 10.0  # seconds sends in flight get to finish when the bot stops
    sender_lease: float = 15.0  # seconds a replica's sender lease lasts unless renewed
    feed_interval: float = 900.0
    fetch_timeout: float = 20.0
    fetch_max_bytes: int = 5_000_000
    allow_private_urls: bool = False

    @property
    def database(self) -> str | Path:
        """Return what Store.open takes: the PostgreSQL URL, else the SQLite file."""
        return self.db_url or self.db_path

    @property
    def index_folder(self) -> Path | bool:
        """Return what open_store takes for the derived index: a folder, True (the default
        place), or False (none)."""
        if self.index.lower() == "off":
            return False
        return Path(self.index) if self.index else True

    @property
    def database_shown(self) -> str:
        """Return the database as logs and errors may show it: never its password."""
        return without_password(self.db_url) if self.db_url else str(self.db_path)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check settings from the environment (or a mapping standing in for it)."""
        env = os.environ if env is None else env
        seeds = env.get("FURAT_SEEDS")
        seeds_path = Path(seeds) if seeds else _default_seeds()
        flag = {"1", "true", "yes", "on"}
        mode = env.get("FURAT_MODE", "polling").strip()
        if mode not in ("polling", "webhook"):
            raise SettingsError(f"FURAT_MODE must be polling or webhook, not {mode!r}.")
        log_level = env.get("FURAT_LOG_LEVEL", "INFO").strip().upper()
        if log_level not in LOG_LEVELS:
            raise SettingsError(
                f"FURAT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}."
            )
        database = env.get("FURAT_DB", "furat.db").strip() or "furat.db"
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            db_path=Path("furat.db" if is_postgres_url(database) else database),
            db_url=database if is_postgres_url(database) else "",
            index=env.get("FURAT_INDEX", "").strip(),
            seeds=seeds_path,
            api_url=env.get("FURAT_API_URL", DEFAULT_API_URL),
            admin_ids=_admin_ids(env.get("FURAT_ADMIN_IDS", "")),
            mode=mode,
            webhook_url=env.get("FURAT_WEBHOOK_URL", ""),
            webhook_secret=env.get("FURAT_WEBHOOK_SECRET", ""),
            listen=_listen(env.get("FURAT_LISTEN", "127.0.0.1:8443")),
            log_level=log_level,
            timezone=_zone(env.get("FURAT_TZ", "Asia/Damascus")),
            watch_dir=Path(env.get("FURAT_WATCH_DIR") or seeds_path),
            watch_seconds=_number(env, "FURAT_WATCH_SECONDS", "60", float, low=0.1),
            tick_seconds=_number(env, "FURAT_TICK_SECONDS", "5", float, low=0.1),
            max_subscriptions=_number(env, "FURAT_MAX_SUBSCRIPTIONS", "50", int, low=1),
            rate_global=_number(env, "FURAT_RATE_GLOBAL", "30", float),
            rate_private=_number(env, "FURAT_RATE_PRIVATE", "1", float),
            rate_group_per_min=_number(env, "FURAT_RATE_GROUP_PER_MIN", "20", float),
            paid_broadcast=env.get("FURAT_PAID_BROADCAST", "").lower() in flag,
            send_concurrency=_number(env, "FURAT_SEND_CONCURRENCY", "32", int, low=1),
            max_attempts=_number(env, "FURAT_MAX_ATTEMPTS", "5", int, low=1),
            retry_base=_number(env, "FURAT_RETRY_BASE", "2", float),
            sender_lease=_number(env, "FURAT_SENDER_LEASE_S", "15", float, low=1),
            digest_when_empty=env.get("FURAT_DIGEST_EMPTY", "").lower() in flag,
            feed_interval=_number(env, "FURAT_FEED_INTERVAL", "900", float, low=1),
            fetch_timeout=_number(env, "FURAT_FETCH_TIMEOUT", "20", float, low=0.1),
            fetch_max_bytes=_number(env, "FURAT_FETCH_MAX_BYTES", "5000000", int, low=1024),
            allow_private_urls=env.get("FURAT_ALLOW_PRIVATE_URLS", "").lower() in flag,
        )

    @property
    def host_port(self) -> tuple[str, int]:
        """Return the host and port the webhook server listens on."""
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)


def _number(env: Mapping[str, str], name: str, default: str, kind: type[N], low: float = 0.0) -> N:
    """Return a numeric setting of at least low, or raise SettingsError naming it."""
    raw = env.get(name, default).strip()
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}.") from None
    if not math.isfinite(value) or value < low:
        raise SettingsError(f"{name} must be a number of at least {low:g}, not {raw!r}.")
    return value


def _admin_ids(raw: str) -> frozenset[int]:
    try:
        return frozenset(int(x) for x in raw.replace(",", " ").split())
    except ValueError:
        raise SettingsError(
            f"FURAT_ADMIN_IDS must be Telegram user ids (numbers), not {raw!r}."
        ) from None


def _zone(raw: str) -> str:
    try:
        return parse_zone(raw)
    except BadTime:
        raise SettingsError(
            f"FURAT_TZ must be an IANA time zone or a UTC offset, not {raw!r}."
        ) from None


def _listen(raw: str) -> str:
    """Return a checked host:port, or raise SettingsError."""
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise SettingsError(f"FURAT_LISTEN must be host:port with a port 1-65535, not {raw!r}.")
    return f"{host or '127.0.0.1'}:{int(port)}"
