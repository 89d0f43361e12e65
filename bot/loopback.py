"""An in-process Bot API: a BaseRequest that answers the bot itself, and a user who writes.

Used by `furat chat` and by the handler tests: the real Application runs, only the network
is replaced.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update
from telegram.request import BaseRequest, RequestData

BOT_ID = 1
BOT_USERNAME = "furat_bot"
_TAG_RE = re.compile(r"<[^>]+>")


@dataclass
class Call:
    """One Bot API call the application made."""

    method: str
    params: dict[str, Any]
    result: Any


def visible_text(markup: str) -> str:
    """Return what a reader sees of an HTML message: tags gone, entities decoded."""
    return html.unescape(_TAG_RE.sub("", markup))


@dataclass
class LoopbackRequest(BaseRequest):
    """Answer Bot API calls in process, recording each one."""

    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    admins: set[int] = field(default_factory=set)  # users who administer every group
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float | None:
        """Answers are immediate."""
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        """Answer one call as Telegram would, without the network."""
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        result = self._answer(name, params)
        self.calls.append(Call(name, params, result))
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def chat(self, chat_id: int) -> dict[str, Any]:
        """Return the chat object for an id (private unless registered otherwise)."""
        return self.chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "User"})

    def _message(
        self, chat_id: int, params: dict[str, Any], message_id: int | None = None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id or next(self._ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Furat", "username": BOT_USERNAME},
            "text": visible_text(str(params.get("text", ""))),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _answer(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Furat",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": True,
            }
        if name == "sendMessage":
            return self._message(int(params["chat_id"]), params)
        if name == "editMessageText":
            return self._message(int(params["chat_id"]), params, int(params["message_id"]))
        if name == "getUpdates":
            return []
        if name == "getChatMember":
            user_id = int(params["user_id"])
            status = "administrator" if user_id in self.admins else "member"
            member: dict[str, Any] = {
                "status": status,
                "user": {"id": user_id, "is_bot": False, "first_name": "U"},
            }
            if status == "administrator":
                member |= {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                }
            return member
        return True

    def sent(self, method: str = "sendMessage") -> list[Call]:
        """Return the calls of one method, in order."""
        return [c for c in self.calls if c.method == method]


@dataclass
class User:
    """A person writing to the bot: builds the updates Telegram would deliver."""

    bot: Bot
    user_id: int = 1001
    chat_id: int = 1001
    language_code: str = "ar"
    chat_type: str = "private"
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _from(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": "Reader",
            "language_code": self.language_code,
        }

    def _chat(self) -> dict[str, Any]:
        if self.chat_type == "private":
            return {"id": self.chat_id, "type": "private", "first_name": "Reader"}
        return {"id": self.chat_id, "type": self.chat_type, "title": "Group"}

    def _update(self, body: dict[str, Any]) -> Update:
        update = Update.de_json({"update_id": next(self._ids), **body}, self.bot)
        assert update is not None
        return update

    def text(self, text: str, reply_to: dict[str, Any] | None = None) -> Update:
        """Return a text message update (a leading /command gets its entity)."""
        message: dict[str, Any] = {
            "message_id": 100_000 + next(self._ids),
            "date": int(time.time()),
            "chat": self._chat(),
            "from": self._from(),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0].encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return self._update({"message": message})

    def sticker(self) -> Update:
        """Return a sticker message update."""
        sticker = {
            "file_id": "s1",
            "file_unique_id": "u1",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": "👍",
        }
        return self._update(
            {
                "message": {
                    "message_id": 100_000 + next(self._ids),
                    "date": int(time.time()),
                    "chat": self._chat(),
                    "from": self._from(),
                    "sticker": sticker,
                }
            }
        )

    def press(self, message: dict[str, Any], data: str) -> Update:
        """Return the update of pressing a button with this callback data under message."""
        return self._update(
            {
                "callback_query": {
                    "id": str(next(self._ids)),
                    "from": self._from(),
                    "chat_instance": "ci",
                    "message": message,
                    "data": data,
                }
            }
        )

    def inline(self, query: str, offset: str = "") -> Update:
        """Return an inline query update."""
        return self._update(
            {
                "inline_query": {
                    "id": str(next(self._ids)),
                    "from": self._from(),
                    "query": query,
                    "offset": offset,
                }
            }
        )
