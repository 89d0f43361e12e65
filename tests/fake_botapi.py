"""Local stand-in for the Telegram Bot API, for driving the bot in tests.

In-process (same event loop as the test)::

    async with FakeBotAPI() as server:
        bot = telegram.Bot(DEFAULT_TOKEN, base_url=server.base_url)

Background thread (bot in another thread or process)::

    with ThreadedServer() as server:
        start_bot(base_url=server.base_url)
        server.send_text(42, "/start")
        server.wait_for(lambda: server.messages_to(42))
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import tornado.httpclient
import tornado.httpserver
import tornado.httputil
import tornado.iostream
import tornado.netutil
import tornado.web

T = TypeVar("T")
JSON = dict[str, Any]

DEFAULT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{30,64}$")
MAX_TEXT_LENGTH = 4096
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


def _words(text: str) -> frozenset[str]:
    """Split a whitespace-separated word list into a set."""
    return frozenset(text.split())


# Parameters whose form-encoded string value is JSON (objects, arrays, numbers, booleans).
_TYPED_KEYS = _words(
    "reply_markup commands results allowed_updates entities caption_entities scope button "
    "link_preview_options reply_parameters media chat_id message_id from_chat_id user_id "
    "reply_to_message_id message_thread_id offset limit timeout cache_time max_connections "
    "latitude longitude disable_notification protect_content show_alert is_personal "
    "drop_pending_updates disable_web_page_preview allow_sending_without_reply"
)
_BUTTON_ACTIONS = _words(
    "callback_data url switch_inline_query switch_inline_query_current_chat copy_text "
    "switch_inline_query_chosen_chat web_app login_url callback_game pay"
)
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note"
)
_COMMAND_SCOPES = _words(
    "default all_private_chats all_group_chats all_chat_administrators chat "
    "chat_administrators chat_member"
)
_RESULT_TYPES = _words(
    "article photo gif mpeg4_gif video audio voice document location venue contact game sticker"
)
_BLOCKED = {
    "private": "Forbidden: bot was blocked by the user",
    "group": "Forbidden: bot was kicked from the group chat",
    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
    "channel": "Forbidden: bot is not a member of the channel chat",
}
_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """An error response of the Bot API."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def payload(self) -> JSON:
        """Return the JSON body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    """Build a 400 Bad Request error."""
    return ApiError(400, f"Bad Request: {description}")


def utf16_len(text: str) -> int:
    """Return the length of text in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


# ---------------------------------------------------------------- HTML parse mode
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_ATTR = re.compile(r"""\s+([A-Za-z][A-Za-z0-9-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_TAG_END = re.compile(r"\s*>")
_TAG_KINDS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def _decode_entity(match: re.Match[str] | None) -> str | None:
    """Return the character an HTML entity match stands for, or None if invalid."""
    if match is None:
        return None
    if match[1]:
        return _NAMED[match[1]]
    code = int(match[2]) if match[2] else int(match[3], 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _open_entity(name: str, attrs: dict[str, str], stack: list[Any], where: str) -> JSON | None:
    """Create the entity started by a tag, or None if the tag yields no entity."""
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise ValueError(f'Tag "span" must have class "tg-spoiler" at {where}')
    if name == "a":
        href = attrs.get("href", "")
        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if user:
            return {
                "type": "text_mention",
                "user": {"id": int(user[1]), "is_bot": False, "first_name": ""},
            }
        return {"type": "text_link", "url": href} if href else None
    in_pre = stack and stack[-1][0] == "pre" and stack[-1][2] is not None
    if name == "code" and in_pre and attrs.get("class", "").startswith("language-"):
        stack[-1][2]["language"] = attrs["class"][len("language-") :]
        return None
    if name == "tg-emoji":
        if "emoji-id" not in attrs:
            raise ValueError(f'Tag "tg-emoji" must have attribute "emoji-id" at {where}')
        return {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}
    if name == "blockquote":
        if any(entry[0] == "blockquote" for entry in stack):
            raise ValueError(f"Blockquote entities can't be nested at {where}")
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    return {"type": _TAG_KINDS[name]}


def parse_html(src: str, strict: bool = True) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into plain text and UTF-16 entities; raise ValueError if invalid.

    strict=True also rejects a bare "&" or ">" (Telegram itself tolerates those).
    """
    out: list[str] = []
    pos = 0  # UTF-16 offset in the output
    stack: list[tuple[str, int, JSON | None]] = []
    entities: list[JSON] = []
    i, n = 0, len(src)

    def where(k: int) -> str:
        return f"byte offset {len(src[:k].encode())}"

    while i < n:
        char = src[i]
        if char == "&":
            match = _ENTITY.match(src, i)
            decoded = _decode_entity(match)
            if decoded is None:
                if strict:
                    raise ValueError(f'Unescaped "&" at {where(i)}; use "&amp;"')
                decoded, i = "&", i + 1
            else:
                i = match.end()  # type: ignore[union-attr]
            out.append(decoded)
            pos += utf16_len(decoded)
            continue
        if char == ">" and strict:
            raise ValueError(f'Unescaped ">" at {where(i)}; use "&gt;"')
        if char != "<":
            out.append(char)
            pos += 2 if ord(char) > 0xFFFF else 1
            i += 1
            continue
        tag = _TAG.match(src, i)
        if tag is None:
            raise ValueError(f'Unexpected "<" at {where(i)}; use "&lt;"')
        name = tag[2].lower()
        if tag[1]:
            end = _TAG_END.match(src, tag.end())
            if end is None:
                raise ValueError(f'Unclosed end tag "{name}" at {where(i)}')
            if not stack:
                raise ValueError(f'Unexpected end tag "{name}" at {where(i)}')
            open_name, start, entity = stack.pop()
            if open_name != name:
                raise ValueError(
                    f'Unmatched end tag at {where(i)}, expected "</{open_name}>", found "</{name}>"'
                )
            if entity is not None and pos > start:
                entity.update(offset=start, length=pos - start)
                entities.append(entity)
            i = end.end()
            continue
        if name not in _TAG_KINDS:
            raise ValueError(f'Unsupported start tag "{name}" at {where(i)}')
        attrs: dict[str, str] = {}
        j = tag.end()
        while attr := _ATTR.match(src, j):
            value = next((v for v in attr.group(2, 3, 4) if v is not None), "")
            attrs[attr[1].lower()] = _ENTITY.sub(lambda m: _decode_entity(m) or m[0], value)
            j = attr.end()
        end = _TAG_END.match(src, j)
        if end is None:
            raise ValueError(f'Unclosed start tag "{name}" at {where(i)}')
        stack.append((name, pos, _open_entity(name, attrs, stack, where(i))))
        i = end.end()
    if stack:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def validate_reply_markup(markup: Any) -> JSON | None:
    """Check a reply_markup object like Telegram does; raise ApiError if invalid."""
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise _bad("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        buttons = [button for row in rows for button in row]
        if len(buttons) > 100:
            raise _bad("reply markup is too long")
        for button in buttons:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not button["text"].strip():
                raise _bad("BUTTON_TEXT_INVALID")
            actions = sorted(_BUTTON_ACTIONS & button.keys())
            if not actions:
                raise _bad(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise _bad(
                    "can't parse inline keyboard button: "
                    f"only one of {', '.join(actions)} can be used"
                )
            data = button.get("callback_data")
            if "callback_data" in button and (
                not isinstance(data, str) or not 1 <= len(data.encode()) <= 64
            ):
                raise _bad("BUTTON_DATA_INVALID")
            url = button.get("url")
            if "url" in button and not re.fullmatch(r"(?:https?|tg)://[^\s/?#]+\S*", str(url)):
                raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
        for button in (b for row in rows for b in row):
            if not isinstance(button, str) and not (
                isinstance(button, dict) and isinstance(button.get("text"), str)
            ):
                raise _bad('can\'t parse keyboard button: Field "text" must be of type String')
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise _bad("can't parse reply keyboard markup JSON object")


def inline_buttons(message: JSON) -> list[JSON]:
    """Return the inline keyboard buttons of a message, row by row."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button for row in rows for button in row]


@dataclass
class Call:
    """One recorded Bot API request and the server's answer."""

    method: str
    params: JSON
    time: float
    status: int
    response: JSON

    @property
    def ok(self) -> bool:
        """Tell whether the request succeeded."""
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        """Return the result of a successful request (None otherwise)."""
        return self.response.get("result")


@dataclass
class RateLimits:
    """Flood-control token buckets: rates are per second, bursts are bucket sizes."""

    enabled: bool = True
    private_rate: float = 1.0
    private_burst: float = 3.0
    group_rate: float = 20 / 60
    group_burst: float = 20.0
    global_rate: float = 30.0
    global_burst: float = 30.0


class _Handler(tornado.web.RequestHandler):
    """Route `/bot<token>/<method>` requests to the fake API."""

    def initialize(self, api: FakeBotAPI) -> None:
        """Remember the server this handler serves."""
        self.api, self.gone = api, False

    async def get(self, token: str, method: str) -> None:
        """Answer a Bot API request."""
        await self.api._handle(self, token, method)

    post = get

    def on_connection_close(self) -> None:
        """Let a pending long poll notice that its client went away."""
        self.gone = True
        self.api._wake()


class _NotFound(tornado.web.RequestHandler):
    """Answer any other path with Telegram's 404."""

    def prepare(self) -> None:
        """Send the 404 error body."""
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(ApiError(404, "Not Found").payload()))


def _parse_params(request: tornado.httputil.HTTPServerRequest) -> JSON:
    """Merge query, form, multipart or JSON parameters and decode JSON-typed fields."""
    params: JSON = {k: v[-1].decode("utf-8", "replace") for k, v in request.query_arguments.items()}
    content_type = request.headers.get("Content-Type", "")
    if request.body and content_type.startswith("application/json"):
        try:
            data = json.loads(request.body)
        except ValueError:
            raise _bad("can't parse JSON request body") from None
        if not isinstance(data, dict):
            raise _bad("JSON request body must be an object")
        params.update(data)
    elif request.body:
        args: dict[str, list[bytes]] = {}
        files: dict[str, list[tornado.httputil.HTTPFile]] = {}
        tornado.httputil.parse_body_arguments(
            content_type, request.body, args, files, request.headers
        )
        params.update({k: v[-1].decode("utf-8", "replace") for k, v in args.items()})
        params.update(
            {k: {"filename": f[0].filename, "size": len(f[0].body)} for k, f in files.items()}
        )
    for key in _TYPED_KEYS & params.keys():
        if isinstance(params[key], str):
            with suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


def _update_chat(update: JSON) -> Any:
    """Return the chat (or, failing one, the user) an update is about: its delivery order key."""
    for key, body in update.items():
        if key == "update_id" or not isinstance(body, dict):
            continue
        for holder in (body, body.get("message") or {}):
            chat = holder.get("chat")
            if isinstance(chat, dict) and "id" in chat:
                return chat["id"]
        sender = body.get("from") or body.get("user")
        if isinstance(sender, dict) and "id" in sender:
            return ("user", sender["id"])
    return ("update", update.get("update_id"))


def _chat_type(chat_id: int) -> str:
    """Guess a chat's type from its id, as Telegram numbers them."""
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def _int(params: JSON, key: str, default: int) -> int:
    """Read an integer parameter."""
    try:
        return int(params.get(key, default))
    except (TypeError, ValueError):
        raise _bad(f'wrong parameter "{key}" in request') from None


class FakeBotAPI:
    """Fake Telegram Bot API server with a thread-safe test-side API."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_id: int | None = None,
        bot_first_name: str = "Furat",
        bot_username: str = "furat_test_bot",
        rate_limits: RateLimits | None = None,
        strict_html: bool = True,
        valid_tokens: Iterable[str] | None = None,
        webhook_retry_delay: float = 0.5,
    ) -> None:
        """Configure the server; nothing listens until start()."""
        self.host, self.port = host, port
        self.bot_id, self.bot_first_name, self.bot_username = bot_id, bot_first_name, bot_username
        self.rate_limits = rate_limits or RateLimits()
        self.strict_html = strict_html
        self.valid_tokens = set(valid_tokens) if valid_tokens is not None else None
        self.webhook_retry_delay = webhook_retry_delay
        self.clock: Callable[[], float] = time.monotonic  # used by rate limiting only
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._updates: list[JSON] = []
        self._update_seq = self._message_seq = self._query_seq = 0
        self._chats: dict[int, JSON] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._own: set[tuple[int, int]] = set()
        self._blocked: set[int] = set()
        self._faults: dict[str, list[list[Any]]] = {}
        self._delays: dict[str, list[list[Any]]] = {}
        self._callbacks: set[str] = set()
        self._inline: set[str] = set()
        self._commands: dict[str, list[JSON]] = {}
        self._stubs: dict[str, tuple[str, Any]] = {}
        self._allowed: set[str] | None = None
        self._buckets: dict[Any, tuple[float, float]] = {}
        self.webhook: JSON = {"url": ""}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._http: tornado.httpserver.HTTPServer | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._poll_gen = self._active = 0
        self._idle: asyncio.Event | None = None
        self._closing = False
        table: dict[str, Callable[..., Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "close": self._close,
            "logOut": self._close,
        }
        self._methods = {name.lower(): (name, fn) for name, fn in table.items()}

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """Return the server root URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Return the base_url to give python-telegram-bot (token and method get appended)."""
        return f"{self.url}/bot"

    async def start(self) -> FakeBotAPI:
        """Start listening on the running event loop."""
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self._closing, self._idle = False, asyncio.Event()
        app = tornado.web.Application(
            [(r"/bot([^/]*)/([^/]*)/?", _Handler, {"api": self}), (r".*", _NotFound)],
            log_function=lambda handler: None,
        )
        sockets = tornado.netutil.bind_sockets(self.port, self.host)
        self.port = sockets[0].getsockname()[1]
        self._http = tornado.httpserver.HTTPServer(app)
        self._http.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        """Stop the server, ending pending long polls and webhook delivery."""
        self._closing, self._loop_thread = True, None
        self._wake_now()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._http is not None:
            self._http.stop()
            if self._active and self._idle is not None:  # let woken long polls answer
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), 1.0)
            await self._http.close_all_connections()
            self._http = None

    async def __aenter__(self) -> FakeBotAPI:
        """Start the server."""
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        """Stop the server."""
        await self.stop()

    # ------------------------------------------------------------ plumbing
    def _wake_now(self) -> None:
        """Resolve every pending waiter (event-loop thread only)."""
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    def _wake(self) -> None:
        """Wake long polls and webhook delivery from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self._wake_now()
        else:
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_now)

    async def _wait(self, seconds: float) -> None:
        """Sleep until woken or until the given seconds pass."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, seconds)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)

    def _changed(self) -> None:
        """Notify blocking and async waiters that state changed."""
        with self._cond:
            self._cond.notify_all()
        self._wake()

    def _pop_injected(self, table: dict[str, list[list[Any]]], method: str) -> list[Any] | None:
        """Take one injected fault or delay for a method (or the "*" wildcard)."""
        with self._lock:
            for key in (method.lower(), "*"):
                queue = table.get(key)
                if queue:
                    entry = queue[0]
                    entry[-1] -= 1
                    if entry[-1] <= 0:
                        queue.pop(0)
                    return entry
        return None

    async def _handle(self, handler: _Handler, token: str, method: str) -> None:
        """Serve one request: authorise, inject, dispatch, record, respond."""
        received, params, delay = time.time(), {}, None
        stub = self._stubs.get(method.lower())
        name, fn = self._methods.get(method.lower(), (stub[0] if stub else method, None))
        self._active += 1
        if self._idle is not None:
            self._idle.clear()
        try:
            if not TOKEN_RE.match(token) or (
                self.valid_tokens is not None and token not in self.valid_tokens
            ):
                raise ApiError(401, "Unauthorized")
            params = _parse_params(handler.request)
            fault = self._pop_injected(self._faults, name)
            if fault:
                raise ApiError(fault[0], fault[1], fault[2])
            delay = self._pop_injected(self._delays, name)  # a call that fails answers at once
            if stub is not None:
                result = stub[1](params) if callable(stub[1]) else copy.deepcopy(stub[1])
            elif fn is None:
                raise ApiError(404, "Not Found")
            elif fn == self._get_updates:
                result = await fn(params, lambda: handler.gone)
            else:
                with self._lock:
                    result = fn(token, params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body = error.status, error.payload()
        except Exception as exc:  # noqa: BLE001 - a fake-server bug must still produce a JSON answer
            status, body = (
                500,
                ApiError(500, f"Internal Server Error: fake_botapi failed: {exc!r}").payload(),
            )
        finally:
            self._active -= 1
            if not self._active and self._idle is not None:
                self._idle.set()
        with self._lock:
            self._calls.append(Call(name, params, received, status, body))
            self._changed()
        if delay:
            # Telegram acts on a request when it arrives; only the answer is late, so a client
            # that gave up waiting may retry something that was already done.
            await asyncio.sleep(delay[0])
        handler.set_status(status)
        handler.set_header("Content-Type", "application/json")
        with suppress(tornado.iostream.StreamClosedError):
            await handler.finish(json.dumps(body, ensure_ascii=False))

    def _me(self, token: str) -> JSON:
        """Return the bot's User object."""
        bot_id = self.bot_id if self.bot_id is not None else int(token.split(":")[0])
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _ensure_chat(self, chat_id: int, chat_type: str | None = None, **fields: Any) -> JSON:
        """Return the Chat object for an id, registering it on first sight."""
        chat = self._chats.get(chat_id)
        if chat is None:
            chat_type = chat_type or _chat_type(chat_id)
            chat = {"id": chat_id, "type": chat_type}
            chat.update(
                {"first_name": "User"} if chat_type == "private" else {"title": f"Chat {chat_id}"}
            )
            self._chats[chat_id] = chat
        chat.update({k: v for k, v in fields.items() if v is not None})
        return chat

    def _chat(self, params: JSON) -> JSON:
        """Resolve the chat_id parameter; raise for unknown usernames and blocked chats."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            names = {c.get("username", "").lower(): c for c in self._chats.values()}
            if raw[1:].lower() not in names:
                raise _bad("chat not found")
            chat = names[raw[1:].lower()]
        else:
            try:
                chat = self._ensure_chat(int(raw))
            except (TypeError, ValueError):
                raise _bad("chat not found") from None
        if chat["id"] in self._blocked:
            raise ApiError(403, _BLOCKED[chat["type"]])
        return chat

    def _render(self, params: JSON, key: str = "text") -> tuple[str, list[JSON]]:
        """Apply parse_mode/entities to a text parameter and check its length."""
        text = params.get(key)
        text = "" if text is None else str(text)
        mode = str(params.get("parse_mode") or "").lower()
        entities = params.get("entities")
        if entities is not None:
            if not isinstance(entities, list):
                raise _bad("can't parse entities JSON object")
        elif mode == "html":
            try:
                text, entities = parse_html(text, self.strict_html)
            except ValueError as error:
                raise _bad(f"can't parse entities: {error}") from None
        elif mode not in ("", "markdown", "markdownv2"):
            raise _bad(f"unsupported parse_mode {params.get('parse_mode')!r}")
        if not text.strip():
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return text, entities or []

    def _flood_check(self, chat_id: int) -> None:
        """Consume one message from the chat and global buckets or raise 429."""
        limits = self.rate_limits
        if not limits.enabled:
            return
        now = self.clock()
        rate, burst = (limits.private_rate, limits.private_burst)
        if chat_id < 0:
            rate, burst = (limits.group_rate, limits.group_burst)
        plan = [
            (("chat", chat_id), rate, burst),
            ("global", limits.global_rate, limits.global_burst),
        ]
        wait = 0.0
        for key, rate, burst in plan:
            tokens, stamp = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - stamp) * rate)
            self._buckets[key] = (tokens, now)
            if tokens < 1:
                wait = max(wait, (1 - tokens) / rate)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        for key, _, _ in plan:
            tokens, stamp = self._buckets[key]
            self._buckets[key] = (tokens - 1, stamp)

    # ------------------------------------------------------------ Bot API methods
    def _get_me(self, token: str, params: JSON) -> JSON:
        """Return the bot's identity."""
        return {
            **self._me(token),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _close(self, token: str, params: JSON) -> bool:
        """Accept close/logOut."""
        return True

    def _set_allowed(self, value: Any) -> None:
        """Store an allowed_updates setting (empty list means the default set)."""
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _bad("can't parse allowed updates")
        self._allowed = set(value) or None

    async def _get_updates(self, params: JSON, gone: Callable[[], bool]) -> list[JSON]:
        """Long-poll for updates; offset confirms older ones."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.webhook["url"]:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            offset = _int(params, "offset", 0)
            limit = min(max(_int(params, "limit", 100), 1), 100)
            deadline = loop.time() + max(_int(params, "timeout", 0), 0)
            if "allowed_updates" in params:
                self._set_allowed(params["allowed_updates"])
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._poll_gen += 1
            generation = self._poll_gen
        self._wake()  # terminates an older poll
        while True:
            with self._lock:
                if generation != self._poll_gen:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                if self.webhook["url"]:
                    raise ApiError(409, "Conflict: terminated by setWebhook request")
                if self._updates or self._closing or gone():
                    return copy.deepcopy(self._updates[:limit])
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._wait(remaining)

    def _set_webhook(self, token: str, params: JSON) -> bool:
        """Set (or with an empty url, remove) the webhook and start delivering to it."""
        url, secret = str(params.get("url") or ""), params.get("secret_token")
        if url and not re.fullmatch(r"https?://[^\s/?#]+\S*", url):
            raise _bad("bad webhook: Failed to resolve host: invalid webhook URL specified")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        max_connections = _int(params, "max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        if "allowed_updates" in params:
            self._set_allowed(params["allowed_updates"])
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {"url": url, "secret_token": secret, "max_connections": max_connections}
        if url and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver())
        self._changed()
        return True

    def _delete_webhook(self, token: str, params: JSON) -> bool:
        """Remove the webhook, optionally dropping pending updates."""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {"url": ""}
        self._changed()
        return True

    def _get_webhook_info(self, token: str, params: JSON) -> JSON:
        """Describe the webhook state."""
        info: JSON = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        for key in ("max_connections", "last_error_date", "last_error_message"):
            if self.webhook.get(key) is not None and info["url"]:
                info[key] = self.webhook[key]
        if self._allowed is not None:
            info["allowed_updates"] = sorted(self._allowed)
        return info

    async def _deliver(self) -> None:
        """POST pending updates to the webhook until it is removed, as Telegram does.

        Up to max_connections requests are in flight at once; the updates of one chat go one
        at a time and in order, so a chat's next update waits for the previous one's 2xx.
        """
        client = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=100)
        in_flight: dict[int, asyncio.Task[None]] = {}
        try:
            while not self._closing:
                with self._lock:
                    url, secret = self.webhook["url"], self.webhook.get("secret_token")
                    room = int(self.webhook.get("max_connections") or 40) - len(in_flight)
                    busy = {_update_chat(u) for u in self._updates if u["update_id"] in in_flight}
                    ready: list[JSON] = []
                    for update in self._updates:
                        chat = _update_chat(update)
                        if update["update_id"] not in in_flight and chat not in busy:
                            ready.append(copy.deepcopy(update))
                        busy.add(chat)  # a later update of this chat waits for this one
                    ready = ready[: max(0, room)]
                if not url:
                    return
                for update in ready:
                    uid = update["update_id"]
                    task = asyncio.get_running_loop().create_task(
                        self._post_update(client, url, secret, update)
                    )
                    in_flight[uid] = task
                    task.add_done_callback(partial(self._delivered, in_flight, uid))
                await self._wait(1.0)
        finally:
            for task in in_flight.values():
                task.cancel()
            await asyncio.gather(*in_flight.values(), return_exceptions=True)
            client.close()

    def _delivered(self, in_flight: dict[int, asyncio.Task[None]], uid: int, _: Any) -> None:
        """Free a delivery slot and the update's chat, and wake the delivery loop."""
        in_flight.pop(uid, None)
        self._wake()

    async def _post_update(
        self, client: tornado.httpclient.AsyncHTTPClient, url: str, secret: Any, update: JSON
    ) -> None:
        """POST one update; drop it from the queue on 2xx, else record the error and rest."""
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        error: str | None = None
        try:
            response = await client.fetch(
                url,
                method="POST",
                body=json.dumps(update),
                headers=headers,
                raise_error=False,
                request_timeout=10,
            )
            if not 200 <= response.code < 300:
                error = f"Wrong response from the webhook: {response.code} {response.reason}"
        except Exception as exc:  # noqa: BLE001 - any transport failure counts as a delivery error
            error = f"Connection failed: {exc}"
        with self._lock:
            if error is None:
                self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
            elif self.webhook["url"] == url:
                self.webhook.update(last_error_date=int(time.time()), last_error_message=error)
            self._changed()
        if error is not None:
            await asyncio.sleep(self.webhook_retry_delay)

    def _reply_target(self, chat_id: int, params: JSON) -> JSON | None:
        """Find the message a send replies to, if any."""
        reply = params.get("reply_parameters") or {}
        if not isinstance(reply, dict):
            raise _bad("can't parse reply parameters JSON object")
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        try:
            key = (int(reply.get("chat_id", chat_id)), int(message_id))
        except (TypeError, ValueError):
            raise _bad("message to be replied not found") from None
        target = self._messages.get(key)
        if target is None and not (
            reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply")
        ):
            raise _bad("message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"} if target else None

    def _send_message(self, token: str, params: JSON) -> JSON:
        """Send a text message."""
        chat = self._chat(params)
        text, entities = self._render(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat["id"], params)
        self._flood_check(chat["id"])
        self._message_seq += 1
        message: JSON = {
            "message_id": self._message_seq,
            "from": self._me(token),
            "chat": dict(chat),
            "date": int(time.time()),
            "text": text,
        }
        if reply_to:
            message["reply_to_message"] = copy.deepcopy(reply_to)
        if entities:
            message["entities"] = entities
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat["id"], message["message_id"])] = message
        self._own.add((chat["id"], message["message_id"]))
        return copy.deepcopy(message)

    def _edit_target(self, params: JSON) -> JSON | None:
        """Find the bot message to edit (None for inline messages)."""
        if params.get("inline_message_id"):
            return None
        chat = self._chat(params)
        if params.get("message_id") is None:
            raise _bad("message identifier is not specified")
        key = (chat["id"], _int(params, "message_id", 0))
        if key not in self._messages:
            raise _bad("message to edit not found")
        if key not in self._own:
            raise _bad("message can't be edited")
        return self._messages[key]

    def _apply_edit(
        self, message: JSON, text: str, entities: list[JSON], markup: JSON | None
    ) -> JSON:
        """Change a stored message, refusing no-op edits."""
        inline = markup if markup and "inline_keyboard" in markup else None
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == inline
        ):
            raise _bad(NOT_MODIFIED)
        message["text"] = text
        for key, value in (("entities", entities), ("reply_markup", inline)):
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _edit_message_text(self, token: str, params: JSON) -> JSON | bool:
        """Edit a message's text (omitting reply_markup removes the keyboard)."""
        message = self._edit_target(params)
        text, entities = self._render(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        return True if message is None else self._apply_edit(message, text, entities, markup)

    def _edit_message_reply_markup(self, token: str, params: JSON) -> JSON | bool:
        """Replace or remove a message's inline keyboard."""
        message = self._edit_target(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        if message is None:
            return True
        return self._apply_edit(
            message, message.get("text", ""), message.get("entities", []), markup
        )

    def _delete_message(self, token: str, params: JSON) -> bool:
        """Delete a message from a chat."""
        key = (self._chat(params)["id"], _int(params, "message_id", 0))
        if self._messages.pop(key, None) is None:
            raise _bad("message to delete not found")
        self._own.discard(key)
        return True

    def _send_chat_action(self, token: str, params: JSON) -> bool:
        """Accept a chat action such as typing."""
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _answer_callback_query(self, token: str, params: JSON) -> bool:
        """Answer a pending callback query exactly once."""
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._callbacks:
            raise _bad(QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._callbacks.discard(query_id)
        return True

    def _answer_inline_query(self, token: str, params: JSON) -> bool:
        """Validate and accept the results for a pending inline query."""
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self._inline:
            raise _bad(QUERY_INVALID)
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict) or result.get("type") not in _RESULT_TYPES:
                raise _bad("RESULT_TYPE_INVALID")
            result_id = result.get("id")
            if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if result_id in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            content = result.get("input_message_content")
            if result["type"] == "article" and (
                not result.get("title") or not isinstance(content, dict)
            ):
                raise _bad(
                    "RESULT_TITLE_EMPTY"
                    if not result.get("title")
                    else "input_message_content is required"
                )
            if isinstance(content, dict) and "message_text" in content:
                self._render(content, "message_text")
            validate_reply_markup(result.get("reply_markup"))
        if len(str(params.get("next_offset") or "").encode()) > 64:
            raise _bad("NEXT_OFFSET_INVALID")
        self._inline.discard(query_id)
        return True

    def _commands_key(self, params: JSON) -> str:
        """Return the storage key for a (scope, language_code) pair."""
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
            raise _bad("can't parse BotCommandScope JSON object")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        return json.dumps([scope, language], sort_keys=True)

    def _set_my_commands(self, token: str, params: JSON) -> bool:
        """Store the command list for a scope and language."""
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad(
                "can't parse commands JSON object"
                if not isinstance(commands, list)
                else "too many commands"
            )
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "")) <= 256:
                raise _bad("command description must be 1-256 characters")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, token: str, params: JSON) -> list[JSON]:
        """Return the command list for a scope and language."""
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, token: str, params: JSON) -> bool:
        """Delete the command list for a scope and language."""
        self._commands.pop(self._commands_key(params), None)
        return True

    # ------------------------------------------------------------ test-side controls
    def block_chat(self, chat_id: int) -> None:
        """Make sends to a chat fail with 403 as if the user blocked the bot."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        """Undo block_chat."""
        with self._lock:
            self._blocked.discard(chat_id)

    def fail_next(
        self,
        method: str,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Make the next count calls of method ("*" for any) fail with the given error."""
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if status == 429
                else _DESCRIPTIONS.get(status, "Error")
            )
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._faults.setdefault(method.lower(), []).append(
                [status, description, retry_after, count]
            )

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Make the answers to the next count calls of method ("*" for any) come seconds late."""
        with self._lock:
            self._delays.setdefault(method.lower(), []).append([seconds, count])

    def stub(self, method: str, result: Any) -> None:
        """Answer method with a fixed result, or result(params) if callable."""
        with self._lock:
            self._stubs[method.lower()] = (method, result)

    def reset_rate_limits(self) -> None:
        """Refill every flood-control bucket."""
        with self._lock:
            self._buckets.clear()

    def add_chat(self, chat_id: int, chat_type: str | None = None, **fields: Any) -> JSON:
        """Register a chat (e.g. with a username or title) and return its Chat object."""
        with self._lock:
            return copy.deepcopy(self._ensure_chat(chat_id, chat_type, **fields))

    # ------------------------------------------------------------ inspection
    @property
    def calls(self) -> list[Call]:
        """Return every recorded request, oldest first."""
        with self._lock:
            return list(self._calls)

    @property
    def sent(self) -> list[Call]:
        """Return the successful send* calls (sendChatAction excluded), oldest first."""
        return [
            c
            for c in self.calls
            if c.ok and c.method.startswith("send") and c.method != "sendChatAction"
        ]

    def calls_to(self, method: str) -> list[Call]:
        """Return the recorded calls of one method."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def clear_calls(self) -> None:
        """Forget the recorded calls."""
        with self._lock:
            self._calls.clear()

    @property
    def pending_updates(self) -> list[JSON]:
        """Return the updates not yet confirmed or delivered."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def messages_to(self, chat_id: int) -> list[JSON]:
        """Return the bot's messages in a chat as they are now (edited, not deleted)."""
        with self._lock:
            keys = sorted(k for k in self._own if k[0] == chat_id)
            return [copy.deepcopy(self._messages[k]) for k in keys]

    def last_message(self, chat_id: int) -> JSON | None:
        """Return the bot's latest message in a chat, if any."""
        messages = self.messages_to(chat_id)
        return messages[-1] if messages else None

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Block until predicate() is truthy and return its value; raise TimeoutError."""
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError(
                "wait_for() would block the server's event loop; use await wait_for_async()"
            )
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (value := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout}s")
                self._cond.wait(min(remaining, 0.05))
            return value

    async def wait_for_async(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors wait_for()
    ) -> T:
        """Await until predicate() is truthy and return its value; raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)
        return value

    # ------------------------------------------------------------ update injection
    def push_update(self, update: JSON) -> JSON:
        """Queue a raw update (update_id is assigned if missing) and return it."""
        with self._lock:
            update = copy.deepcopy(update)
            if "update_id" not in update:
                self._update_seq += 1
                update["update_id"] = self._update_seq
            self._update_seq = max(self._update_seq, update["update_id"])
            kind = next(k for k in update if k != "update_id")
            if kind == "callback_query":
                self._callbacks.add(str(update[kind]["id"]))
            if kind == "inline_query":
                self._inline.add(str(update[kind]["id"]))
            allowed = (
                kind not in _DEFAULT_EXCLUDED_UPDATES
                if self._allowed is None
                else kind in self._allowed
            )
            if allowed:  # Telegram never creates updates the bot did not ask for
                self._updates.append(update)
            self._changed()
            return copy.deepcopy(update)

    def _user(
        self, user_id: int, first_name: str, language_code: str | None, username: str | None
    ) -> JSON:
        """Build a User object for a human sender."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        user.update(
            {k: v for k, v in (("username", username), ("language_code", language_code)) if v}
        )
        return user

    def _incoming(
        self,
        chat_id: int,
        content: JSON,
        *,
        user_id: int | None = None,
        language_code: str | None = "ar",
        chat_type: str | None = None,
        first_name: str = "Test",
        username: str | None = None,
        reply_to_bot: bool | int = False,
        kind: str = "message",
    ) -> JSON:
        """Store a message from a user and queue it as an update."""
        with self._lock:
            private = (chat_type or _chat_type(chat_id)) == "private"
            chat = self._ensure_chat(
                chat_id,
                chat_type,
                **({"first_name": first_name, "username": username} if private else {}),
            )
            self._message_seq += 1
            message: JSON = {
                "message_id": self._message_seq,
                "date": int(time.time()),
                "chat": dict(chat),
            }
            if kind == "channel_post":
                message["sender_chat"] = dict(chat)
            else:
                uid = user_id if user_id is not None else (chat_id if private else 1000)
                message["from"] = self._user(uid, first_name, language_code, username)
            message.update(content)
            if reply_to_bot is not False:
                own = sorted(k[1] for k in self._own if k[0] == chat_id)
                target = own[-1] if reply_to_bot is True and own else reply_to_bot
                if (chat_id, target) not in self._own:
                    raise LookupError(f"no bot message {target!r} in chat {chat_id}")
                message["reply_to_message"] = {
                    k: v
                    for k, v in self._messages[(chat_id, target)].items()
                    if k != "reply_to_message"
                }
            self._messages[(chat_id, message["message_id"])] = message
            return self.push_update({kind: message})

    def send_text(
        self, chat_id: int, text: str, *, entities: list[JSON] | None = None, **sender: Any
    ) -> JSON:
        """Simulate a user's text message; a leading /command gets its bot_command entity.

        sender: user_id, language_code="ar", chat_type (inferred from the id), first_name,
        username, reply_to_bot (True = the bot's last message, or a message_id).
        """
        command = re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?", text)
        if entities is None and command:
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command[0])}]
        return self._incoming(
            chat_id, {"text": text, **({"entities": entities} if entities else {})}, **sender
        )

    def send_sticker(
        self, chat_id: int, emoji: str = "👍", *, set_name: str | None = None, **sender: Any
    ) -> JSON:
        """Simulate a user's sticker message."""
        n = self._message_seq + 1
        sticker: JSON = {
            "file_id": f"sticker{n}",
            "file_unique_id": f"usticker{n}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        if set_name:
            sticker["set_name"] = set_name
        return self._incoming(chat_id, {"sticker": sticker}, **sender)

    def send_photo(self, chat_id: int, caption: str | None = None, **sender: Any) -> JSON:
        """Simulate a user's photo message, optionally captioned."""
        n = self._message_seq + 1
        sizes = [
            {
                "file_id": f"photo{n}_{w}",
                "file_unique_id": f"uphoto{n}_{w}",
                "width": w,
                "height": w * 3 // 4,
                "file_size": w * 90,
            }
            for w in (90, 320, 1280)
        ]
        return self._incoming(
            chat_id, {"photo": sizes, **({"caption": caption} if caption else {})}, **sender
        )

    def send_location(
        self, chat_id: int, latitude: float = 33.3152, longitude: float = 44.3661, **sender: Any
    ) -> JSON:
        """Simulate a user sharing a location (default: Baghdad)."""
        return self._incoming(
            chat_id, {"location": {"latitude": latitude, "longitude": longitude}}, **sender
        )

    def channel_post(self, chat_id: int, text: str, *, title: str = "Channel") -> JSON:
        """Simulate a post in a channel the bot administers."""
        with self._lock:
            self._ensure_chat(chat_id, "channel", title=title)
            return self._incoming(chat_id, {"text": text}, chat_type="channel", kind="channel_post")

    def edited_text(self, chat_id: int, message_id: int, text: str, **sender: Any) -> JSON:
        """Simulate a user editing an earlier text message of theirs."""
        with self._lock:
            original = self._messages.get((chat_id, message_id))
            if original is None or (chat_id, message_id) in self._own:
                raise LookupError(f"no user message {message_id} in chat {chat_id}")
            original.update(text=text, edit_date=int(time.time()))
            original.pop("entities", None)
            return self.push_update({"edited_message": original})

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        user_id: int | None = None,
        *,
        first_name: str = "Test",
        language_code: str | None = "ar",
    ) -> JSON:
        """Simulate a user pressing an inline button of a bot message."""
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            if message is not None and callback_data not in [
                b.get("callback_data") for b in inline_buttons(message)
            ]:
                raise LookupError(
                    f"message {message_id} has no button with callback_data {callback_data!r}"
                )
            self._query_seq += 1
            uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 1000)
            query = {
                "id": str(9_000_000 + self._query_seq),
                "from": self._user(uid, first_name, language_code, None),
                "message": copy.deepcopy(message)
                if message
                else {"chat": self._ensure_chat(chat_id), "message_id": message_id, "date": 0},
                "chat_instance": str(abs(chat_id) * 7 + 13),
                "data": callback_data,
            }
            return self.push_update({"callback_query": query})

    def inline_query(
        self,
        user_id: int,
        query: str,
        offset: str = "",
        *,
        chat_type: str | None = "sender",
        first_name: str = "Test",
        language_code: str | None = "ar",
    ) -> JSON:
        """Simulate a user typing an inline query."""
        with self._lock:
            self._query_seq += 1
            payload: JSON = {
                "id": str(8_000_000 + self._query_seq),
                "from": self._user(user_id, first_name, language_code, None),
                "query": query,
                "offset": offset,
            }
            if chat_type:
                payload["chat_type"] = chat_type
            return self.push_update({"inline_query": payload})


class ThreadedServer:
    """Run a FakeBotAPI on its own event loop in a background thread."""

    def __init__(self, server: FakeBotAPI | None = None, **options: Any) -> None:
        """Wrap an existing server or build one from FakeBotAPI options."""
        self.server = server or FakeBotAPI(**options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeBotAPI:
        """Start the loop thread and the server; return the server."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fake-botapi", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        """Stop the server and the loop thread."""
        assert self._loop is not None and self._thread is not None
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
