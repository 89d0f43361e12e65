"""Start-up and exit: bad settings, an unreachable Bot API, a port in use, a closed pipe."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError
from tests.conftest import ROOT, SEEDS, furat
from tests.fake_botapi import DEFAULT_TOKEN, FakeBotAPI, RateLimits, ThreadedServer


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FURAT_LISTEN", "127.0.0.1:99999"),
        ("FURAT_LISTEN", "127.0.0.1:0"),
        ("FURAT_LISTEN", "localhost"),
        ("FURAT_LISTEN", "127.0.0.1:http"),
        ("FURAT_TICK_SECONDS", "soon"),
        ("FURAT_TICK_SECONDS", "0"),
        ("FURAT_WATCH_SECONDS", "nan"),
        ("FURAT_MAX_SUBSCRIPTIONS", "2.5"),
        ("FURAT_RATE_GLOBAL", "-1"),
        ("FURAT_SEND_CONCURRENCY", "0"),
        ("FURAT_MAX_ATTEMPTS", "many"),
        ("FURAT_RETRY_BASE", "inf"),
        ("FURAT_ADMIN_IDS", "12, bob"),
        ("FURAT_MODE", "push"),
        ("FURAT_LOG_LEVEL", "LOUD"),
        ("FURAT_TZ", "Mars/Olympus"),
    ],
)
def test_bad_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize(
    ("value", "listen"),
    [("0.0.0.0:8443", "0.0.0.0:8443"), (":9000", "127.0.0.1:9000"), ("[::1]:80", "[::1]:80")],
)
def test_listen_is_read(value: str, listen: str) -> None:
    assert Settings.from_env({"FURAT_LISTEN": value}).listen == listen


def test_bad_listen_is_one_line_and_nonzero(tmp_path: Path) -> None:
    proc = furat(["stats"], tmp_path / "f.db", FURAT_LISTEN="127.0.0.1:99999")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "furat: FURAT_LISTEN must be host:port with a port 1-65535, not '127.0.0.1:99999'."
    ]


def _closed_port() -> int:
    """Return a port nothing listens on (bound here and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_bot_api_is_one_sentence(tmp_path: Path) -> None:
    proc = furat(
        ["run"],
        tmp_path / "f.db",
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        FURAT_API_URL=f"http://127.0.0.1:{_closed_port()}/bot",
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Cannot reach the Telegram Bot API"), lines
    assert DEFAULT_TOKEN not in proc.stderr + proc.stdout


@pytest.fixture
def server() -> Iterator[FakeBotAPI]:
    with ThreadedServer(rate_limits=RateLimits(enabled=False)) as s:
        yield s


def test_refused_token_is_one_sentence(server: FakeBotAPI, tmp_path: Path) -> None:
    server.valid_tokens = {DEFAULT_TOKEN}
    token = "999:not-the-right-token"
    proc = furat(
        ["run"], tmp_path / "f.db", TELEGRAM_BOT_TOKEN=token, FURAT_API_URL=server.base_url
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the token" in lines[0], lines
    assert token not in proc.stderr + proc.stdout


def test_port_in_use_fails_before_the_webhook_is_set(server: FakeBotAPI, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = furat(
            ["run"],
            tmp_path / "f.db",
            TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
            FURAT_API_URL=server.base_url,
            FURAT_MODE="webhook",
            FURAT_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
            FURAT_WEBHOOK_SECRET="s3cret",
            FURAT_LISTEN=f"127.0.0.1:{port}",
        )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"Cannot listen on 127.0.0.1:{port}" in lines[0], lines
    assert DEFAULT_TOKEN not in proc.stderr
    assert server.calls_to("setWebhook") == []


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    assert furat(["stats"], db).returncode == 0  # built from the seeds first
    env = {**os.environ, "FURAT_DB": str(db), "FURAT_SEEDS": str(SEEDS)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "search", "--json", "--stdin"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None and proc.stdin is not None
    proc.stdout.close()  # the reader is gone (`| head -1` after its line) before any output
    proc.stdin.write("كاليبر\n" * 50)
    proc.stdin.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode != 0


def test_unusable_database_is_one_sentence(server: FakeBotAPI, tmp_path: Path) -> None:
    proc = furat(
        ["run"], tmp_path, TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN, FURAT_API_URL=server.base_url
    )  # FURAT_DB is a folder
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Cannot use the database" in lines[0], lines
