"""Reply latency at a fixed offered load (open loop), and updates/s with one and two replicas.

Each replica is `furat run` in webhook mode on the same SQLite file, its Bot API the local
fake server. Updates are POSTed to the webhooks as Telegram would, round-robin over the
replicas (the load balancer); a reply is the fake server's record of the sendMessage.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.corpus import queries as make_queries

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"
HOOK = "/bench-hook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
START_TIMEOUT_S = 120
REPLY_TIMEOUT_S = 300
# Updates in flight per replica in the closed loop: enough to keep both cores busy.
WINDOW_PER_REPLICA = 32


def pct(values: list[float], q: float) -> float:
    """Return the q-th percentile (0–100) of values."""
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def bot_env(api_url: str, db: Path | str) -> dict[str, str]:
    """Return the environment of a benched `furat run`: the local Bot API, no jobs, no limits."""
    from tests.fake_botapi import DEFAULT_TOKEN

    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "FURAT_API_URL": api_url,
        "FURAT_DB": str(db),
        "FURAT_LOG_LEVEL": "WARNING",
        "FURAT_WATCH_DIR": "/nonexistent",
        "FURAT_TICK_SECONDS": "3600",
        "FURAT_RATE_GLOBAL": "0",
        "FURAT_RATE_GROUP_PER_MIN": "0",
    }


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def update_json(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """Return a private text message update as Telegram POSTs it to a webhook."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Bench"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Bench", "language_code": "ar"},
            "text": text,
        },
    }


@contextmanager
def replicas(server: Any, db: Path | str, count: int) -> Iterator[list[str]]:
    """Run count webhook replicas on db; yield their webhook URLs once all are listening."""

    ports = [free_port() for _ in range(count)]
    urls = [f"http://127.0.0.1:{port}{HOOK}" for port in ports]
    before = len(server.calls_to("setWebhook"))
    procs: list[subprocess.Popen[bytes]] = []
    with ExitStack() as stack:
        for port in ports:
            log = stack.enter_context(tempfile.TemporaryFile())
            env = {
                **bot_env(server.base_url, db),
                "FURAT_MODE": "webhook",
                "FURAT_LISTEN": f"127.0.0.1:{port}",
                # Behind a load balancer every replica registers the one public URL.
                "FURAT_WEBHOOK_URL": urls[0],
                "FURAT_WEBHOOK_SECRET": SECRET,
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot", "run"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

        def listening() -> bool:
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"a replica exited with {dead[0].returncode} at start-up")
            return len(server.calls_to("setWebhook")) >= before + count

        try:
            # Each replica listens before it sets the webhook: its setWebhook means it is up.
            server.wait_for(listening, timeout=START_TIMEOUT_S)
            yield urls
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)


class Replies:
    """Read the fake server's sendMessage calls as they arrive, per chat."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.cursor = len(server.calls)
        self.times: dict[int, list[float]] = {}

    def poll(self) -> list[int]:
        """Record the replies since the last poll; return their chats."""
        calls = self.server.calls
        new = [c for c in calls[self.cursor :] if c.method == "sendMessage" and c.ok]
        self.cursor = len(calls)
        for call in new:
            self.times.setdefault(int(call.params["chat_id"]), []).append(call.time)
        return [int(c.params["chat_id"]) for c in new]

    def wait_all(self, chats: list[int]) -> None:
        """Block until every chat in chats has a reply."""
        wanted = set(chats)

        def done() -> bool:
            self.poll()
            return wanted <= self.times.keys()

        self.server.wait_for(done, timeout=REPLY_TIMEOUT_S)

    def counts(self, chats: list[int]) -> tuple[int, int]:
        """Return how many of chats were answered, and how many replies were extra."""
        self.poll()
        per = Counter({c: len(self.times.get(c, [])) for c in chats})
        return sum(1 for c in chats if per[c]), sum(max(0, n - 1) for n in per.values())


async def _post(http: httpx.AsyncClient, url: str, update: dict[str, Any]) -> None:
    response = await http.post(url, json=update, headers={SECRET_HEADER: SECRET})
    if response.status_code != 200:
        raise RuntimeError(f"webhook answered {response.status_code} to update {update}")


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=60, limits=httpx.Limits(max_connections=512, max_keepalive_connections=512)
    )


async def _warm(http: httpx.AsyncClient, urls: list[str]) -> None:
    for url in urls:
        (await http.get(url.replace(HOOK, "/readyz"))).raise_for_status()


async def send_open_loop(
    urls: list[str], updates: list[dict[str, Any]], rate: float
) -> tuple[float, float]:
    """Send update i at t0 + i / rate whatever the replies; return t0 (wall clock), max lag s."""
    async with _client() as http:
        await _warm(http, urls)
        tasks: list[asyncio.Task[None]] = []
        lag = 0.0
        t0, wall0 = time.perf_counter(), time.time()
        for i, update in enumerate(updates):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lag = max(lag, time.perf_counter() - due)
            # A task per update: a slow answer never holds back the next send.
            tasks.append(asyncio.create_task(_post(http, urls[i % len(urls)], update)))
        await asyncio.gather(*tasks)
    return wall0, lag


async def send_closed_loop(
    urls: list[str], updates: list[dict[str, Any]], replies: Replies, window: int
) -> float:
    """Keep window updates unanswered at most, sent as replies come; return the start (wall)."""
    free = asyncio.Semaphore(window)
    pending = {int(u["message"]["chat"]["id"]) for u in updates}

    async def watch() -> None:
        while pending:
            for chat in replies.poll():
                if chat in pending:
                    pending.discard(chat)
                    free.release()
            await asyncio.sleep(0.002)  # a poll of the recorded calls, not a synchronisation

    async with _client() as http:
        await _warm(http, urls)
        watcher = asyncio.create_task(watch())
        wall0 = time.time()
        tasks: list[asyncio.Task[None]] = []
        for i, update in enumerate(updates):
            await free.acquire()
            tasks.append(asyncio.create_task(_post(http, urls[i % len(urls)], update)))
        await asyncio.gather(*tasks)
        await asyncio.wait_for(watcher, timeout=REPLY_TIMEOUT_S)
    return wall0


class Load:
    """Numbered search updates, each from a chat of its own."""

    def __init__(self, n_docs: int, base: int) -> None:
        self.n_docs = n_docs
        self.next = base

    def make(self, n: int, seed: int) -> list[dict[str, Any]]:
        """Return n updates with fresh chat and update ids."""
        words = [q for _, q in make_queries(n, seed=seed, n_docs=self.n_docs)]
        out = [update_json(self.next + i, self.next + i, w) for i, w in enumerate(words)]
        self.next += n
        return out


def _chats(updates: list[dict[str, Any]]) -> list[int]:
    return [int(u["message"]["chat"]["id"]) for u in updates]


def throughput(server: Any, urls: list[str], load: Load, n: int, seed: int) -> dict[str, float]:
    """Answer n updates closed loop after a warm-up; return updates/s and reply counts."""
    window = WINDOW_PER_REPLICA * len(urls)
    warm = load.make(4 * len(urls), seed + 100)
    replies = Replies(server)
    asyncio.run(send_closed_loop(urls, warm, replies, window))
    updates = load.make(n, seed)
    replies = Replies(server)
    wall0 = asyncio.run(send_closed_loop(urls, updates, replies, window))
    chats = _chats(updates)
    last = max(replies.times[c][0] for c in chats)
    return {"updates_per_s": n / (last - wall0), "updates": n}


def openloop(
    db: Path | str, n_docs: int, rate: float = 50.0, seconds: float = 20.0, n_throughput: int = 1000
) -> dict[str, float]:
    """Measure reply latency at rate updates/s for seconds, then updates/s with 1 and 2 replicas."""
    from tests.fake_botapi import RateLimits, ThreadedServer

    load = Load(n_docs, base=700_000)
    m: dict[str, float] = {"openloop_rate": rate, "openloop_seconds": seconds}
    with ThreadedServer(rate_limits=RateLimits(enabled=False)) as server:
        every = Replies(server)
        with replicas(server, db, 1) as urls:
            m["updates_per_s_1_replica"] = throughput(server, urls, load, n_throughput, 7)[
                "updates_per_s"
            ]
            updates = load.make(max(1, round(rate * seconds)), 6)
            replies = Replies(server)
            wall0, lag = asyncio.run(send_open_loop(urls, updates, rate))
            chats = _chats(updates)
            replies.wait_all(chats)
        # Counted with the replica stopped: a late second reply would be in by now.
        answered, extra = replies.counts(chats)
        latencies = [
            (replies.times[c][0] - (wall0 + i / rate)) * 1000
            for i, c in enumerate(chats)
            if c in replies.times
        ]
        m.update(
            reply_p50_ms_at_50=pct(latencies, 50),
            reply_p99_ms_at_50=pct(latencies, 99),
            reply_max_ms_at_50=max(latencies),
            openloop_sent=len(updates),
            openloop_answered=answered,
            openloop_extra_replies=extra,
            openloop_max_send_lag_ms=lag * 1000,
        )
        with replicas(server, db, 2) as urls:
            m["updates_per_s_2_replicas"] = throughput(server, urls, load, n_throughput, 8)[
                "updates_per_s"
            ]
        # Every update of every phase, warm-ups included, counted with all replicas stopped.
        sent = list(range(700_000, load.next))
        answered, extra = every.counts(sent)
        m.update(updates_sent=len(sent), updates_unanswered=len(sent) - answered)
        m["updates_extra_replies"] = extra
    m["replica_cores"] = float(os.cpu_count() or 1)
    return m
