"""Three `furat run` replicas on one database behind a round-robin proxy, the local Bot API
server delivering updates by webhook: answers, alerts, a kill -9, a digest and the pace."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import httpx
import pytest

from storage.backends import open_store
from tests.conftest import ROOT, SEEDS
from tests.fake_botapi import DEFAULT_TOKEN, Call, FakeBotAPI, RateLimits, ThreadedServer
from tests.proxy import RoundRobinProxy, serve_proxy
from tests.test_e2e import _free_port
from tests.test_e2e_pushes import ARTICLE, STORIES

REPLICAS = 3
SECRET = "replica-secret"
HOOK = "/hook"
START_S = 60.0
WAIT_S = 45.0
# Low limits keep the file short; the lease TTL is low so a takeover after kill -9 is quick.
RATE = 50.0
CONCURRENCY = 8
FAST = {
    "FURAT_TICK_SECONDS": "0.3",
    "FURAT_RETRY_BASE": "0.2",
    "FURAT_RATE_GLOBAL": str(int(RATE)),
    "FURAT_SEND_CONCURRENCY": str(CONCURRENCY),
    "FURAT_SENDER_LEASE_S": "2",
    "FURAT_LOG_LEVEL": "WARNING",
}
ALERT = ("🔔", "\u200f🔔")
QUERIES = ("الرقة", "دير الزور", "كاليبر الفرقاطة", "بيسكوف", "مساعدات غذائية", "شلل الأطفال")


@pytest.fixture
def server() -> Iterator[FakeBotAPI]:
    # Telegram's per-chat limit is kept; the overall one is the bot's own to keep (measured).
    limits = RateLimits(global_rate=10_000, global_burst=10_000)
    with ThreadedServer(rate_limits=limits, webhook_retry_delay=0.1) as s:
        yield s


@pytest.fixture
def shared(db_target: Path | str) -> str:
    """Return the FURAT_DB the replicas share, as text."""
    return str(db_target)


@dataclass
class Replica:
    port: int
    proc: subprocess.Popen[str]
    log: IO[str]

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def sent(self) -> float:
        """Return how many pushes this replica sent, read from its /metrics."""
        text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith('furat_pushes_total{outcome="sent"}'):
                return float(line.split()[-1])
        return 0.0


@dataclass
class Cluster:
    server: FakeBotAPI
    proxy: RoundRobinProxy
    replicas: list[Replica] = field(default_factory=list)

    def kill(self, replica: Replica) -> None:
        """Kill one replica at once, as a crash would."""
        replica.proc.send_signal(signal.SIGKILL)
        replica.proc.wait(timeout=10)


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop a replica gracefully, or kill it if it does not stop in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def cluster(server: FakeBotAPI, db: str, tmp: Path, **env: str) -> Iterator[Cluster]:
    """Run REPLICAS webhook replicas behind a round-robin proxy; yield once all set the webhook."""
    ports = [_free_port() for _ in range(REPLICAS)]
    watch = tmp / "watch"
    watch.mkdir(exist_ok=True)
    with ExitStack() as stack:
        proxy = stack.enter_context(serve_proxy([("127.0.0.1", p) for p in ports]))
        group = Cluster(server, proxy)
        before = len(server.calls_to("setWebhook"))
        base = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "FURAT_API_URL": server.base_url,
            "FURAT_DB": db,
            "FURAT_SEEDS": str(SEEDS),
            "FURAT_WATCH_DIR": str(watch),
            "FURAT_MODE": "webhook",
            # Behind the balancer every replica registers the one public URL.
            "FURAT_WEBHOOK_URL": f"http://127.0.0.1:{proxy.port}{HOOK}",
            "FURAT_WEBHOOK_SECRET": SECRET,
            **env,
        }
        for port in ports:
            # A file, not a pipe: an unread pipe fills up and freezes the process.
            log = stack.enter_context(tempfile.TemporaryFile(mode="w+", encoding="utf-8"))
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=ROOT,
                env={**base, "FURAT_LISTEN": f"127.0.0.1:{port}"},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
            stack.callback(_stop, proc)
            group.replicas.append(Replica(port, proc, log))

        def up() -> bool:
            dead = [r for r in group.replicas if r.proc.poll() is not None]
            assert not dead, f"a replica exited at start-up:\n{dead[0].output()}"
            ok = [c for c in server.calls_to("setWebhook")[before:] if c.ok]
            return len(ok) >= REPLICAS

        # A replica listens before it sets the webhook: its setWebhook means it is up.
        server.wait_for(up, timeout=START_S)
        yield group


async def _seed(db: str, chats: range, digest_chat: int | None = None) -> None:
    """Subscribe chats to الرقة; give digest_chat a digest that is due now."""
    store = await open_store(db, seeds=SEEDS)
    try:
        now = datetime.now(UTC)
        await store.subscribe_many([(c, "الرقة") for c in chats], "UTC", now)
        if digest_chat is not None:
            # No subscriptions: the digest is of the latest articles.
            await store.ensure_chat(digest_chat, "private", "ar", "UTC", now)
            await store.update_chat(
                digest_chat,
                digest_time=(now - timedelta(minutes=1)).strftime("%H:%M"),
                last_digest_at=(now - timedelta(days=1)).isoformat(),
            )
        await store.mark_documents_seen()
    finally:
        await store.close()


def ingest(db: str, folder: Path) -> None:
    """Add one new article matching الرقة with `furat ingest`, in a process of its own."""
    lead, more = STORIES[0]
    path = folder / "news_new.txt"
    path.write_text(ARTICLE.format(title="تقرير ميداني جديد", lead=lead, n=1, more=more), "utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(path)],
        capture_output=True,
        text=True,
        # A database URL passes as it is: a Path would fold its "//".
        env={**os.environ, "FURAT_DB": db, "FURAT_SEEDS": str(SEEDS)},
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def sends(server: FakeBotAPI) -> list[Call]:
    return [c for c in server.calls_to("sendMessage") if c.ok]


def alert_calls(server: FakeBotAPI) -> list[Call]:
    return [c for c in sends(server) if str(c.result.get("text", "")).startswith(ALERT)]


def alert_counts(server: FakeBotAPI) -> Counter[int]:
    return Counter(int(c.params["chat_id"]) for c in alert_calls(server))


def wait_alerted(server: FakeBotAPI, chats: range) -> None:
    """Wait until every chat has its alert; fail naming how many did not get one."""
    try:
        server.wait_for(lambda: set(chats) <= alert_counts(server).keys(), timeout=WAIT_S)
    except TimeoutError:
        missing = len(set(chats) - alert_counts(server).keys())
        pytest.fail(f"{missing} of {len(chats)} chats got no alert within {WAIT_S:g}s")


def settle(seconds: float = 1.5) -> None:
    """Let several scheduler ticks pass on every replica: a late extra send would show."""
    time.sleep(seconds)


async def test_proxy_goes_round_robin_past_a_dead_backend() -> None:
    async def answering(name: bytes) -> asyncio.Server:
        async def answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(name)
            await writer.drain()
            writer.close()

        return await asyncio.start_server(answer, "127.0.0.1", 0)

    a, b = await answering(b"a"), await answering(b"b")
    backends = [("127.0.0.1", a.sockets[0].getsockname()[1]), ("127.0.0.1", _free_port())]
    backends.append(("127.0.0.1", b.sockets[0].getsockname()[1]))
    proxy = await RoundRobinProxy(backends).start()
    try:
        got = []
        for _ in range(4):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            got.append(await reader.read())
            writer.close()
        assert got == [b"a", b"b", b"a", b"b"]
        assert proxy.connections == [2, 0, 2]
    finally:
        await proxy.stop()
        a.close()
        b.close()


def test_searches_answered_once(server: FakeBotAPI, shared: str, tmp_path: Path) -> None:
    users = range(20_001, 20_101)
    with cluster(server, shared, tmp_path, **FAST) as group:
        # Three searches each: within Telegram's per-chat burst, so no answer is held back.
        for round_ in range(3):
            for user in users:
                query = QUERIES[(user + round_) % len(QUERIES)]
                server.send_text(user, query, user_id=user)
        server.wait_for(lambda: len(sends(server)) >= 3 * len(users), timeout=WAIT_S)
        server.wait_for(lambda: not server.pending_updates, timeout=WAIT_S)
        settle()
        spread = list(group.proxy.connections)
    answers = Counter(int(c.params["chat_id"]) for c in sends(server))
    assert answers == Counter({u: 3 for u in users})
    assert not [c for c in server.calls_to("sendMessage") if c.status == 429]
    assert all(n >= 50 for n in spread), spread  # every replica answered its share


def test_fan_out_once_at_the_limit(server: FakeBotAPI, shared: str, tmp_path: Path) -> None:
    chats = range(10_001, 10_501)
    asyncio.run(_seed(shared, chats))
    with cluster(server, shared, tmp_path, **FAST):
        ingest(shared, tmp_path)
        wait_alerted(server, chats)
        settle()
    counts = alert_counts(server)
    assert counts == Counter({c: 1 for c in chats})
    times = sorted(c.time for c in alert_calls(server))
    pace = (len(times) - 1) / (times[-1] - times[0])
    print(f"\n{len(times)} alerts from {REPLICAS} replicas at {pace:.1f}/s (limit {RATE:g}/s)")
    assert abs(pace - RATE) <= 0.05 * RATE, f"pace {pace:.1f}/s, limit {RATE:g}/s"


def test_kill_during_fan_out(server: FakeBotAPI, shared: str, tmp_path: Path) -> None:
    chats = range(10_001, 10_501)
    asyncio.run(_seed(shared, chats))
    # Slow answers keep sends in flight when the kill lands.
    server.delay_next("sendMessage", 0.02, count=10_000)
    with cluster(server, shared, tmp_path, **FAST) as group:
        ingest(shared, tmp_path)
        server.wait_for(lambda: len(alert_calls(server)) >= 150, timeout=WAIT_S)
        # The replica that sent most is the sender (the only one, once the sender is elected).
        victim = max(group.replicas, key=Replica.sent)
        group.kill(victim)
        killed_at = len(alert_calls(server))
        wait_alerted(server, chats)
        settle()
    counts = alert_counts(server)
    duplicates = sum(n - 1 for n in counts.values())
    print(f"\nkill -9 after {killed_at} alerts: {duplicates} duplicates (bound {CONCURRENCY})")
    assert set(counts) == set(chats)
    assert duplicates <= CONCURRENCY


def test_due_digest_sent_once(server: FakeBotAPI, shared: str, tmp_path: Path) -> None:
    digest_chat = 30_001
    asyncio.run(_seed(shared, range(0), digest_chat))
    with cluster(server, shared, tmp_path, **FAST, FURAT_DIGEST_EMPTY="1"):
        server.wait_for(lambda: server.messages_to(digest_chat), timeout=WAIT_S)
        settle(3.0)  # ten ticks on each replica
    digests = [c for c in sends(server) if int(c.params["chat_id"]) == digest_chat]
    assert len(digests) == 1
    assert "موجزك" in digests[0].result["text"]
