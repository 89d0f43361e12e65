"""`furat chat`: talk to the real bot in a terminal, with no token and no network."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from typing import Any, TextIO

from telegram.ext import Application

from bot.app import HEARTBEAT_SECONDS, build_application, running
from bot.config import Settings
from bot.loopback import BOT_USERNAME, Call, LoopbackRequest, User, visible_text
from bot.sender import utc_now
from handlers.common import STORE_KEY
from handlers.texts import Lang, t
from storage.store import Store

# A bot beats every HEARTBEAT_SECONDS; three missed beats mean it is gone.
PRESENCE_WITHIN = 3 * HEARTBEAT_SECONDS + 1

BANNER = (
    "Furat console — type a search (Arabic or English) or a command (/help, /latest, ...).\n"
    "A number presses that button; /inline QUERY tries inline mode; /quit or Ctrl-D leaves."
)


class Console:
    """Feed typed lines to the application and print what it sends back."""

    def __init__(
        self,
        app: Application,
        request: LoopbackRequest,
        out: TextIO,
    ) -> None:
        self.app, self.request, self.out = app, request, out
        self.user = User(app.bot)
        self.buttons: list[tuple[dict[str, Any], str, str]] = []  # message, label, data
        self.seen = 0

    def _print_calls(self) -> None:
        new, self.seen = self.request.calls[self.seen :], len(self.request.calls)
        for call in new:
            if call.method in ("sendMessage", "editMessageText"):
                self._print_message(call)
            elif call.method == "answerCallbackQuery" and call.params.get("text"):
                print(f"[{call.params['text']}]", file=self.out)
            elif call.method == "answerInlineQuery":
                self._print_inline(call)

    def _print_message(self, call: Call) -> None:
        edited = " (edited)" if call.method == "editMessageText" else ""
        print(f"\n— bot{edited} —\n{visible_text(str(call.params.get('text', '')))}", file=self.out)
        markup = call.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        if rows:
            self.buttons = []
            links = []
            for row in rows:
                for button in row:
                    if "callback_data" in button:
                        self.buttons.append((call.result, button["text"], button["callback_data"]))
                    elif "url" in button:  # a terminal cannot press it: the address is shown
                        links.append(f"  {button['text']}: {button['url']}")
            for n, (_, label, _) in enumerate(self.buttons, 1):
                print(f"  [{n}] {label}", file=self.out)
            for link in links:
                print(link, file=self.out)

    def _print_inline(self, call: Call) -> None:
        results = call.params.get("results", [])
        print(f"\n— inline: {len(results)} results —", file=self.out)
        for n, r in enumerate(results, 1):
            print(f"  {n}. {r.get('title')}\n     {r.get('description', '')}", file=self.out)

    async def handle(self, line: str) -> None:
        """Turn one typed line into an update and process it."""
        line = line.strip()
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            message, _, data = self.buttons[int(line) - 1]
            update = self.user.press(message, data)
        elif line.startswith("/inline"):
            update = self.user.inline(line[len("/inline") :].strip())
        else:
            update = self.user.text(line)
        await self.app.process_update(update)
        self._print_calls()


async def bot_notice(store: Store) -> str | None:
    """Return one line saying that a running bot uses this database, or None."""
    now = utc_now()
    bots = await store.live_bots(now, timedelta(seconds=PRESENCE_WITHIN))
    if not bots:
        return None
    seen = max(0, round((now - bots[0].seen_at).total_seconds()))
    return (
        f"Note: a running bot ({bots[0].holder}, seen {seen} s ago) uses this database; "
        "this console sends no pushes and leaves its queue alone."
    )


async def chat(settings: Settings, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """Run the console until /quit or end of input."""
    request = LoopbackRequest()
    # The console only answers what is typed: the outbox, the jobs and the matching state belong
    # to a bot that may be running on the same database.
    app = build_application(settings, request, background=False)
    async with running(app):
        console = Console(app, request, out)
        console.seen = len(request.calls)
        print(f"{BANNER}\n(@{BOT_USERNAME}, archive: {settings.database_shown})", file=out)
        store: Store = app.bot_data[STORE_KEY]
        if not await store.latest(1):
            print(visible_text(t(Lang.EN, "fill_archive")), file=out)
        notice = await bot_notice(store)
        if notice:
            print(notice, file=out)
        while True:
            print("\n> ", end="", file=out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line or line.strip() in ("/quit", "/exit"):
                break
            if line.strip():
                await console.handle(line)
    return 0
