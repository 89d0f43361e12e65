"""The real `furat run` process against the local Bot API server, whole conversations."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, SEEDS
from tests.fake_botapi import DEFAULT_TOKEN, FakeBotAPI, RateLimits, ThreadedServer

WAIT = 30.0


@pytest.fixture
def server() -> Iterator[FakeBotAPI]:
    with ThreadedServer(rate_limits=RateLimits(enabled=False)) as s:
        yield s


class BotProcess:
    """A `python -m bot run` child process pointed at the local server."""

    def __init__(self, server: FakeBotAPI, db: Path | str, **env: str) -> None:
        self.server = server
        full_env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "FURAT_API_URL": server.base_url,
            "FURAT_DB": str(db),
            "FURAT_SEEDS": str(SEEDS),
            "FURAT_LOG_LEVEL": "INFO",
            **env,
        }
        # A file, not a pipe: an unread pipe fills up and freezes the bot on its next log line.
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=full_env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def output(self) -> str:
        """Return everything the process logged so far."""
        self.log.seek(0)
        return self.log.read()

    def kill(self) -> None:
        """Kill the process at once, as a crash would."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=WAIT)

    def stop(self) -> str:
        """Stop gracefully (as systemd or Ctrl-C would) and return everything it logged."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=WAIT)
        out = self.output()
        assert self.proc.returncode == 0, out
        return out


def wait_polling(server: FakeBotAPI, after: int = 0) -> None:
    server.wait_for(lambda: len(server.calls_to("getUpdates")) > after, timeout=WAIT)


def texts(server: FakeBotAPI, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in server.messages_to(chat_id)]


def wait_text(server: FakeBotAPI, chat_id: int, needle: str, count: int = 1) -> list[str]:
    """Wait until count messages in the chat hold needle; return the chat's texts."""
    server.wait_for(lambda: sum(needle in t for t in texts(server, chat_id)) >= count, timeout=WAIT)
    return texts(server, chat_id)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def test_conversation(server: FakeBotAPI, tmp_path: Path) -> None:
    bot = BotProcess(server, tmp_path / "e2e.db")
    try:
        wait_polling(server)
        me = 1001
        server.send_text(me, "/start", user_id=me)
        wait_text(server, me, "فرات")

        server.send_text(me, "كاليبر الفرقاطة", user_id=me)
        wait_text(server, me, "نتائج")
        results = server.messages_to(me)[-1]
        assert "📄 المقال كاملاً (1)" in buttons(results)

        server.send_text(me, "Peskov street fighting", user_id=me, language_code="en")
        wait_text(server, me, "Results for")
        assert "من شارع إلى شارع" in server.messages_to(me)[-1]["text"]

        server.send_text(me, "دير الزور", user_id=me)
        wait_text(server, me, "(1–3)")
        page = server.messages_to(me)[-1]
        server.press_button(me, page["message_id"], buttons(page)["التالي ◀"], user_id=me)
        wait_text(server, me, "(4–6)")
        assert len(server.messages_to(me)) == 4  # edited in place, not sent anew

        server.send_text(me, "/start doc_000_d5ad7216e4dfa7f1", user_id=me)
        wait_text(server, me, "ومستودعات أسلحة وذخائر للتنظيم")

        server.inline_query(me, "الرقة")
        server.wait_for(lambda: server.calls_to("answerInlineQuery"), timeout=WAIT)
        answer = server.calls_to("answerInlineQuery")[-1]
        assert answer.ok and answer.params["results"]

        group = -100555
        server.send_text(group, "كاليبر", user_id=2002, chat_type="supergroup")
        server.send_text(group, "@furat_test_bot كاليبر", user_id=2002, chat_type="supergroup")
        wait_text(server, group, "نتائج")
        assert len(server.messages_to(group)) == 1  # the unaddressed message got no answer

        other = 3003  # a second reader, so the flood gate of the first is not in play
        server.send_sticker(other, user_id=other)
        wait_text(server, other, "أفهم النصوص فقط")
        server.send_text(other, "دير " * 1250, user_id=other)  # 5,000 characters
        server.send_text(other, 'NEAR("داعش" OR -*) ^:', user_id=other)
        wait_text(server, other, "نتائج")
        wait_text(server, other, "NEAR(")  # the FTS syntax comes back as an escaped header

        assert all(call.ok for call in server.sent), [c.response for c in server.sent]
    finally:
        out = bot.stop()
    assert DEFAULT_TOKEN not in out
    assert "update failed" not in out


def test_restart_with_pending_updates(server: FakeBotAPI, tmp_path: Path) -> None:
    db = tmp_path / "restart.db"
    bot = BotProcess(server, db)
    wait_polling(server)
    server.send_text(7, "كاليبر", user_id=7)
    wait_text(server, 7, "نتائج")
    bot.stop()
    for word in ("الرقة", "الحسكة", "سانا"):
        server.send_text(7, word, user_id=7)
    polls = len(server.calls_to("getUpdates"))
    bot = BotProcess(server, db)
    try:
        wait_polling(server, polls)
        wait_text(server, 7, "نتائج", count=4)
    finally:
        bot.stop()
    headers = [t.split("\n")[0] for t in texts(server, 7)]
    assert len(headers) == 4 and len(set(headers)) == 4  # none lost, none answered twice


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_webhook_mode_checks_the_secret(server: FakeBotAPI, tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/furat-hook"
    bot = BotProcess(
        server,
        tmp_path / "hook.db",
        FURAT_MODE="webhook",
        FURAT_WEBHOOK_URL=url,
        FURAT_WEBHOOK_SECRET="s3cret-value",
        FURAT_LISTEN=f"127.0.0.1:{port}",
    )
    try:
        server.wait_for(lambda: server.calls_to("setWebhook"), timeout=WAIT)
        assert server.calls_to("setWebhook")[-1].params["secret_token"] == "s3cret-value"
        server.send_text(9, "كاليبر", user_id=9)
        wait_text(server, 9, "نتائج")
        update = {
            "update_id": 999,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 9, "type": "private"},
                "from": {"id": 9, "is_bot": False, "first_name": "X"},
                "text": "forged",
            },
        }
        assert httpx.post(url, json=update, timeout=10).status_code == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "nope"}
        assert httpx.post(url, json=update, headers=wrong, timeout=10).status_code == 403
    finally:
        bot.stop()
    assert not any("forged" in t for t in texts(server, 9))


def test_run_without_token_explains() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "@BotFather" in proc.stderr and "furat chat" in proc.stderr
