"""Tests for the fake Telegram Bot API server in tests/fake_botapi.py."""

from __future__ import annotations

import asyncio
import html
import json
import threading
import time
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import tornado.httpserver
import tornado.netutil
import tornado.web
from hypothesis import given
from hypothesis import strategies as st
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter, TimedOut
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from tests.fake_botapi import (
    DEFAULT_TOKEN,
    Call,
    FakeBotAPI,
    RateLimits,
    ThreadedServer,
    parse_html,
    utf16_len,
)

TOKEN = DEFAULT_TOKEN
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeBotAPI]:
    """Run a fake server on the test's event loop."""
    async with FakeBotAPI() as srv:
        yield srv


@pytest_asyncio.fixture
async def bot(server: FakeBotAPI) -> AsyncIterator[Bot]:
    """Yield a real PTB Bot talking to the fake server."""
    async with Bot(TOKEN, base_url=server.base_url) as ptb_bot:
        yield ptb_bot


@pytest_asyncio.fixture
async def client(server: FakeBotAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Yield a raw HTTP client whose relative URLs are Bot API method names."""
    async with httpx.AsyncClient(base_url=f"{server.base_url}{TOKEN}/", timeout=10) as http:
        yield http


def retry_seconds(error: RetryAfter) -> float:
    """Return RetryAfter.retry_after in seconds, whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def markup(data: str) -> str:
    """Return a one-button inline keyboard as a JSON string."""
    return json.dumps({"inline_keyboard": [[{"text": "btn", "callback_data": data}]]})


def keyboard(data: str = "a") -> InlineKeyboardMarkup:
    """Return a one-button PTB inline keyboard."""
    return InlineKeyboardMarkup([[InlineKeyboardButton("btn", callback_data=data)]])


# ------------------------------------------------------------------ getMe, routing, bodies
@pytest.mark.asyncio
async def test_get_me(bot: Bot, client: httpx.AsyncClient) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == 123456 and me.username == "furat_test_bot"
    assert me.supports_inline_queries is True and me.can_join_groups is True
    raw = (await client.get("getMe")).json()
    assert raw["ok"] is True and raw["result"]["can_read_all_group_messages"] is False


@pytest.mark.asyncio
async def test_unknown_method_and_bad_token(server: FakeBotAPI, client: httpx.AsyncClient) -> None:
    response = await client.post("sendTeleport", data={"chat_id": 1})
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    async with httpx.AsyncClient() as http:
        bad = await http.post(f"{server.base_url}not-a-token/getMe")
        assert bad.status_code == 401 and bad.json()["description"] == "Unauthorized"
        short = await http.post(f"{server.base_url}123:abc/getMe")
        assert short.status_code == 401
        assert (await http.get(f"{server.url}/nothing/here")).status_code == 404
    assert (await client.post("GETME")).json()["ok"] is True  # names are case-insensitive
    assert [c.status for c in server.calls] == [404, 401, 401, 200]


@pytest.mark.asyncio
async def test_json_multipart_and_form_bodies(
    server: FakeBotAPI, client: httpx.AsyncClient
) -> None:
    inline = {"inline_keyboard": [[{"text": "a", "callback_data": "x"}]]}
    responses = [
        await client.post("sendMessage", json={"chat_id": 5, "text": "j", "reply_markup": inline}),
        await client.post(
            "sendMessage", data={"chat_id": "5", "text": "f", "reply_markup": markup("y")}
        ),
        await client.post(
            "sendMessage", data={"chat_id": "5", "text": "m"}, files={"document": ("a.txt", b"hi")}
        ),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert responses[1].json()["result"]["reply_markup"]["inline_keyboard"][0][0] == {
        "text": "btn",
        "callback_data": "y",
    }
    params = [c.params for c in server.calls_to("sendMessage")]
    assert params[0]["chat_id"] == params[1]["chat_id"] == 5  # form strings are decoded
    assert params[2]["document"] == {"filename": "a.txt", "size": 2}
    assert [m["text"] for m in server.messages_to(5)] == ["j", "f", "m"]


# ------------------------------------------------------------------ sendMessage validation
@pytest.mark.asyncio
async def test_send_message_html_happy_path(server: FakeBotAPI, bot: Bot) -> None:
    message = await bot.send_message(
        42,
        "<b>مرحبا</b> &amp; <a href='https://example.com'>رابط</a> 😀<i>x</i>",
        parse_mode="HTML",
        reply_markup=keyboard("yes"),
    )
    assert message.text == "مرحبا & رابط 😀x"
    assert message.chat.id == 42 and message.chat.type == "private"
    assert message.from_user is not None and message.from_user.is_bot
    kinds = [(e.type, e.offset, e.length) for e in message.entities]
    assert kinds == [("bold", 0, 5), ("text_link", 8, 4), ("italic", 15, 1)]  # 😀 = 2 units
    assert message.entities[1].url == "https://example.com"
    assert message.reply_markup == keyboard("yes")
    [stored] = server.messages_to(42)
    assert stored["text"] == message.text and server.last_message(42) == stored
    assert server.sent[0].method == "sendMessage"
    assert server.sent[0].result["message_id"] == message.message_id


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text",
    [
        "<b>unclosed",
        "<foo>x</foo>",
        "fish & chips",
        "<b><i>x</b></i>",
        "1 < 2",
        "x</b>",
        '<span class="x">s</span>',
        "<br>",
        "2 > 1",
    ],
)
async def test_invalid_html_rejected(bot: Bot, client: httpx.AsyncClient, text: str) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(1, text, parse_mode="HTML")
    data = {"chat_id": 1, "text": text, "parse_mode": "HTML"}
    response = await client.post("sendMessage", data=data)
    assert response.status_code == 400
    assert response.json()["description"].startswith("Bad Request: can't parse entities: ")


@pytest.mark.asyncio
async def test_html_without_parse_mode_is_plain_text(bot: Bot) -> None:
    message = await bot.send_message(1, "fish & chips <b>")
    assert message.text == "fish & chips <b>" and not message.entities


@pytest.mark.asyncio
async def test_text_length_limits(bot: Bot, client: httpx.AsyncClient) -> None:
    bold = await bot.send_message(1, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert bold.text is not None and len(bold.text) == 4096
    assert (await bot.send_message(1, "&amp;" * 4096, parse_mode="HTML")).text == "&" * 4096
    await bot.send_message(1, "😀" * 2048)  # 4096 UTF-16 code units
    for text, mode in (
        ("<b>" + "a" * 4097 + "</b>", "HTML"),
        ("😀" * 2048 + "a", ""),
        ("a" * 4097, ""),
    ):
        data = {"chat_id": 1, "text": text, "parse_mode": mode}
        response = await client.post("sendMessage", data=data)
        assert response.status_code == 400
        assert response.json()["description"] == "Bad Request: message is too long"
    for text in ("", "   ", "<b></b>"):
        data = {"chat_id": 1, "text": text, "parse_mode": "HTML"}
        response = await client.post("sendMessage", data=data)
        assert response.json()["description"] == "Bad Request: message text is empty"


@pytest.mark.asyncio
async def test_callback_data_limits(client: httpx.AsyncClient, bot: Bot) -> None:
    ok = await client.post(
        "sendMessage", data={"chat_id": 1, "text": "t", "reply_markup": markup("x" * 64)}
    )
    assert ok.status_code == 200
    for data in ("x" * 65, "ب" * 33, ""):  # 33 Arabic letters are 66 bytes
        form = {"chat_id": 1, "text": "t", "reply_markup": markup(data)}
        response = await client.post("sendMessage", data=form)
        assert response.status_code == 400
        assert response.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1, "t", reply_markup=keyboard("é" * 33))
    two_actions = {"inline_keyboard": [[{"text": "b", "callback_data": "x", "url": "https://a.b"}]]}
    no_action = {"inline_keyboard": [[{"text": "b"}]]}
    for bad in (json.dumps(two_actions), json.dumps(no_action), "{not json"):
        form = {"chat_id": 1, "text": "t", "reply_markup": bad}
        assert (await client.post("sendMessage", data=form)).status_code == 400


# ------------------------------------------------------------------ edits, callbacks, inline
@pytest.mark.asyncio
async def test_edit_message_text(server: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(7, "one", reply_markup=keyboard())
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("one", 7, sent.message_id, reply_markup=keyboard())
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("two", 8, sent.message_id)
    user_update = server.send_text(7, "hi")
    with pytest.raises(BadRequest, match="(?i)can't be edited"):
        await bot.edit_message_text("two", 7, user_update["message"]["message_id"])
    edited = await bot.edit_message_text("<b>two</b>", 7, sent.message_id, parse_mode="HTML")
    assert isinstance(edited, Message) and edited.text == "two" and edited.reply_markup is None
    await bot.edit_message_reply_markup(7, sent.message_id, reply_markup=keyboard())
    [current] = server.messages_to(7)
    assert current["text"] == "two" and current["entities"][0]["type"] == "bold"
    assert current["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    assert "edit_date" in current
    assert await bot.delete_message(7, sent.message_id) is True
    assert server.messages_to(7) == []


@pytest.mark.asyncio
async def test_callback_query_flow(server: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(9, "pick", reply_markup=keyboard("pick:a"))
    with pytest.raises(LookupError):
        server.press_button(9, sent.message_id, "pick:zzz")
    server.press_button(9, sent.message_id, "pick:a")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "pick:a"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="done") is True
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query.id)


@pytest.mark.asyncio
async def test_answer_inline_query(server: FakeBotAPI, client: httpx.AsyncClient) -> None:
    def article(result_id: str, text: str = "x") -> dict[str, Any]:
        content = {"message_text": text}
        return {"type": "article", "id": result_id, "title": "t", "input_message_content": content}

    cases = [
        ([article(str(i)) for i in range(51)], "", "Bad Request: RESULTS_TOO_MUCH"),
        ([article("a"), article("a")], "", "Bad Request: RESULT_ID_DUPLICATE"),
        ([article("x" * 65)], "", "Bad Request: RESULT_ID_INVALID"),
        ([article("a", "a" * 4097)], "", "Bad Request: message is too long"),
        ([article("a")], "o" * 65, "Bad Request: NEXT_OFFSET_INVALID"),
    ]
    for results, next_offset, description in cases:
        query_id = server.inline_query(5, "q")["inline_query"]["id"]
        form = {
            "inline_query_id": query_id,
            "results": json.dumps(results),
            "next_offset": next_offset,
        }
        response = await client.post("answerInlineQuery", data=form)
        assert response.json()["description"] == description
    query_id = server.inline_query(5, "q")["inline_query"]["id"]
    form = {
        "inline_query_id": query_id,
        "results": json.dumps([article(str(i)) for i in range(50)]),
    }
    assert (await client.post("answerInlineQuery", data=form)).json()["result"] is True


@pytest.mark.asyncio
async def test_commands_and_chat_action(bot: Bot) -> None:
    await bot.set_my_commands([("start", "ابدأ"), ("help", "مساعدة")], language_code="ar")
    assert [c.command for c in await bot.get_my_commands(language_code="ar")] == ["start", "help"]
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start!", "x")])
    await bot.delete_my_commands(language_code="ar")
    assert await bot.get_my_commands(language_code="ar") == ()
    assert await bot.send_chat_action(1, "typing") is True
    with pytest.raises(BadRequest):
        await bot.send_chat_action(1, "dancing")


@pytest.mark.asyncio
async def test_update_helpers_deserialise(server: FakeBotAPI, bot: Bot) -> None:
    server.send_sticker(1)
    server.send_photo(1, caption="صورة")
    server.send_location(1)
    server.channel_post(-1001, "خبر")
    first = server.send_text(-100500, "/help@furat_test_bot", user_id=77)
    server.edited_text(-100500, first["message"]["message_id"], "edited")
    server.stub(
        "sendPhoto",
        lambda params: {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
    )
    updates = await bot.get_updates()
    assert updates[0].message is not None and updates[0].message.sticker is not None
    assert updates[1].message is not None and updates[1].message.caption == "صورة"
    assert updates[2].message is not None and updates[2].message.location is not None
    assert updates[3].channel_post is not None and updates[3].channel_post.chat.type == "channel"
    group = updates[4].message
    assert group is not None and group.chat.type == "supergroup" and group.from_user is not None
    assert group.from_user.id == 77 and group.entities[0].type == "bot_command"
    assert updates[5].edited_message is not None and updates[5].edited_message.text == "edited"
    assert [u.update_id for u in updates] == list(range(1, 7))
    photo = await bot.send_photo(1, "file-id")
    assert photo.message_id == 1 and server.sent[-1].method == "sendPhoto"


# ------------------------------------------------------------------ getUpdates and webhooks
@pytest.mark.asyncio
async def test_get_updates_long_polling(server: FakeBotAPI, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    pushed = server.send_text(77, "/start", first_name="Ali")
    updates = await poll
    assert time.monotonic() - started < 3
    assert [u.update_id for u in updates] == [pushed["update_id"]]
    message = updates[0].message
    assert message is not None and message.text == "/start"
    assert message.from_user is not None and message.from_user.language_code == "ar"
    assert message.entities[0].type == "bot_command"
    again = await bot.get_updates(timeout=0)  # not confirmed yet: delivered again
    assert [u.update_id for u in again] == [pushed["update_id"]]
    assert await bot.get_updates(offset=pushed["update_id"] + 1, timeout=0) == ()
    assert server.pending_updates == []
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 3


@pytest.mark.asyncio
async def test_allowed_updates_and_limit(server: FakeBotAPI, bot: Bot) -> None:
    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    server.send_text(1, "ignored")
    sent = await bot.send_message(1, "k", reply_markup=keyboard())
    for _ in range(3):
        server.press_button(1, sent.message_id, "a")
    updates = await bot.get_updates(timeout=0, limit=2)
    assert len(updates) == 2 and all(u.callback_query for u in updates)


@pytest.mark.asyncio
async def test_second_poll_terminates_first(client: httpx.AsyncClient) -> None:
    first = asyncio.create_task(client.post("getUpdates", data={"timeout": 5}))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(client.post("getUpdates", data={"timeout": 1}))
    assert (await first).status_code == 409
    assert (await second).json() == {"ok": True, "result": []}


@pytest.mark.asyncio
async def test_stop_answers_pending_poll() -> None:
    server = await FakeBotAPI().start()
    async with httpx.AsyncClient(timeout=10) as http:
        poll = asyncio.create_task(http.post(f"{server.base_url}{TOKEN}/getUpdates?timeout=30"))
        await asyncio.sleep(0.2)
        await server.stop()
        assert (await poll).json() == {"ok": True, "result": []}


@pytest.mark.asyncio
async def test_webhook_delivery(server: FakeBotAPI, bot: Bot) -> None:
    received: asyncio.Queue[tuple[str | None, dict[str, Any]]] = asyncio.Queue()
    status = {"code": 200}

    class Receiver(tornado.web.RequestHandler):
        def post(self) -> None:
            secret = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token")
            received.put_nowait((secret, json.loads(self.request.body)))
            self.set_status(status["code"])

    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    app = tornado.web.Application([(r"/hook", Receiver)], log_function=lambda h: None)
    receiver = tornado.httpserver.HTTPServer(app)
    receiver.add_sockets(sockets)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hook"
    try:
        assert await bot.set_webhook(url, secret_token="s3cr3t-Token_1")
        pushed = server.send_text(3, "via webhook")
        secret, body = await asyncio.wait_for(received.get(), 5)
        assert secret == "s3cr3t-Token_1" and body == pushed
        await server.wait_for_async(lambda: not server.pending_updates)
        with pytest.raises(Conflict):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        status["code"] = 500  # failing receiver: the update stays pending, the error is reported
        server.webhook_retry_delay = 0.05
        server.send_text(3, "retry me")
        await asyncio.wait_for(received.get(), 5)
        error = await server.wait_for_async(lambda: server.webhook.get("last_error_message"))
        assert error == "Wrong response from the webhook: 500 Internal Server Error"
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 1 and info.last_error_message == error
        status["code"] = 200
        await server.wait_for_async(lambda: not server.pending_updates)
        assert await bot.delete_webhook()
        server.send_text(3, "polling again")
        [update] = await bot.get_updates()
        assert update.message is not None and update.message.text == "polling again"
        with pytest.raises(BadRequest):
            await bot.set_webhook(url, secret_token="bad secret!")
    finally:
        await bot.delete_webhook()
        receiver.stop()


async def test_webhook_delivery_in_parallel_one_chat_in_order(
    server: FakeBotAPI, bot: Bot
) -> None:
    held: list[tuple[int, asyncio.Event]] = []
    arrived: asyncio.Queue[int] = asyncio.Queue()
    answered: list[int] = []

    class Receiver(tornado.web.RequestHandler):
        async def post(self) -> None:
            update_id = json.loads(self.request.body)["update_id"]
            release = asyncio.Event()
            held.append((update_id, release))
            arrived.put_nowait(update_id)
            await release.wait()
            answered.append(update_id)

    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    app = tornado.web.Application([(r"/hook", Receiver)], log_function=lambda h: None)
    receiver = tornado.httpserver.HTTPServer(app)
    receiver.add_sockets(sockets)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hook"
    try:
        a1, a2 = server.send_text(7, "one")["update_id"], server.send_text(7, "two")["update_id"]
        b, c = server.send_text(8, "b")["update_id"], server.send_text(9, "c")["update_id"]
        assert await bot.set_webhook(url, max_connections=2)
        # Two at once, as Telegram delivers: chat 7's second update waits for its first.
        first = {await asyncio.wait_for(arrived.get(), 5) for _ in range(2)}
        assert first == {a1, b}
        dict(held)[b].set()
        assert await asyncio.wait_for(arrived.get(), 5) == c  # the freed connection takes c
        dict(held)[a1].set()
        assert await asyncio.wait_for(arrived.get(), 5) == a2
        for _, release in held:
            release.set()
        await server.wait_for_async(lambda: not server.pending_updates)
        assert answered.index(a1) < answered.index(a2)
    finally:
        for _, release in held:
            release.set()
        await bot.delete_webhook()
        receiver.stop()


# ------------------------------------------------------------------ rate limits, blocks, faults
@pytest.mark.asyncio
async def test_private_chat_rate_limit(
    server: FakeBotAPI, bot: Bot, client: httpx.AsyncClient
) -> None:
    now = [1000.0]
    server.clock = lambda: now[0]
    for _ in range(3):  # default burst allowance
        await bot.send_message(11, "hi")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(11, "hi")
    assert retry_seconds(caught.value) == 1
    response = await client.post("sendMessage", data={"chat_id": 11, "text": "hi"})
    assert response.status_code == 429
    assert response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    await bot.send_message(12, "another chat is fine")
    now[0] += 1.0
    await bot.send_message(11, "refilled")
    server.rate_limits = RateLimits(enabled=False)
    for _ in range(10):
        await bot.send_message(11, "unlimited")


@pytest.mark.asyncio
async def test_group_rate_limit(server: FakeBotAPI, client: httpx.AsyncClient) -> None:
    server.rate_limits = RateLimits(group_burst=2)
    codes = []
    for _ in range(3):
        response = await client.post("sendMessage", data={"chat_id": -100123, "text": "x"})
        codes.append(response.status_code)
    assert codes == [200, 200, 429]
    assert server.calls[-1].response["parameters"]["retry_after"] == 3  # 20 per minute


@pytest.mark.asyncio
async def test_blocked_chat(server: FakeBotAPI, bot: Bot) -> None:
    server.block_chat(13)
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(13, "hello?")
    assert server.calls[-1].status == 403 and server.messages_to(13) == []
    server.unblock_chat(13)
    await bot.send_message(13, "hello again")


@pytest.mark.asyncio
async def test_injected_failures_and_delays(
    server: FakeBotAPI, bot: Bot, client: httpx.AsyncClient
) -> None:
    server.fail_next("sendMessage", 500)
    response = await client.post("sendMessage", data={"chat_id": 1, "text": "x"})
    assert response.status_code == 500
    assert response.json() == {
        "ok": False,
        "error_code": 500,
        "description": "Internal Server Error",
    }
    assert (await client.post("sendMessage", data={"chat_id": 1, "text": "x"})).status_code == 200
    server.fail_next("sendMessage", 429, retry_after=7, count=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1, "x")
        assert retry_seconds(caught.value) == 7
    await bot.send_message(1, "x")
    request = HTTPXRequest(read_timeout=0.2)
    async with Bot(TOKEN, base_url=server.base_url, request=request) as impatient:
        server.delay_next("sendMessage", 1.0)
        with pytest.raises(TimedOut):
            await impatient.send_message(2, "slow")

    def slow_call() -> Call | None:
        return next((c for c in server.calls_to("sendMessage") if c.params["text"] == "slow"), None)

    call = await server.wait_for_async(slow_call)
    assert call is not None and call.ok  # processed anyway, as Telegram would


# ------------------------------------------------------------------ threads and PTB Application
def test_threaded_server_with_echo_bot_thread() -> None:
    with ThreadedServer(rate_limits=RateLimits(enabled=False)) as server:
        stop = threading.Event()

        def echo_bot() -> None:
            offset = 0
            with httpx.Client(base_url=f"{server.base_url}{TOKEN}/", timeout=10) as http:
                while not stop.is_set():
                    poll = http.post("getUpdates", data={"offset": offset, "timeout": 1})
                    for update in poll.json()["result"]:
                        offset = update["update_id"] + 1
                        message = update["message"]
                        reply = {
                            "chat_id": message["chat"]["id"],
                            "text": "echo: " + message["text"],
                        }
                        http.post("sendMessage", data=reply)

        worker = threading.Thread(target=echo_bot)
        worker.start()
        try:
            server.send_text(21, "مرحبا")
            server.send_text(21, "again")
            server.wait_for(lambda: len(server.messages_to(21)) == 2, timeout=5)
            texts = [m["text"] for m in server.messages_to(21)]
            assert texts == ["echo: مرحبا", "echo: again"]
            with pytest.raises(TimeoutError):
                server.wait_for(lambda: server.messages_to(99), timeout=0.2)
        finally:
            stop.set()
            worker.join(5)


@pytest.mark.asyncio
async def test_ptb_application_polling(server: FakeBotAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html(
            "<b>أهلاً</b>", do_quote=True, reply_markup=keyboard("go")
        )

    app = Application.builder().token(TOKEN).base_url(server.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            server.send_text(500, "/start")
            [reply] = await server.wait_for_async(lambda: server.messages_to(500))
        finally:
            await app.updater.stop()
            await app.stop()
    assert reply["text"] == "أهلاً" and reply["entities"][0]["type"] == "bold"
    assert reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "go"
    assert reply["reply_to_message"]["text"] == "/start"
    methods = [c.method for c in server.calls if c.method != "getUpdates"]
    assert methods[:2] == ["getMe", "deleteWebhook"]


def test_parse_html_entities() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre>\n'
        "<tg-spoiler>s</tg-spoiler><blockquote expandable>q</blockquote>&#x1F600;&#65;"
    )
    assert text == "x = 1\nsq😀A"
    assert entities == [
        {"type": "pre", "language": "python", "offset": 0, "length": 5},
        {"type": "spoiler", "offset": 6, "length": 1},
        {"type": "expandable_blockquote", "offset": 7, "length": 1},
    ]
    assert parse_html("a & b > c", strict=False) == ("a & b > c", [])


@given(st.text())
def test_escaped_text_round_trips(text: str) -> None:
    plain, entities = parse_html(html.escape(text))
    assert plain == text and entities == []
    wrapped, [bold] = parse_html(f"<b>x{html.escape(text)}</b>")
    assert bold == {"type": "bold", "offset": 0, "length": utf16_len(wrapped)}
