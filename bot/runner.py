"""`furat run`: the bot process, by long polling or behind a webhook."""

from __future__ import annotations

import sys
from urllib.parse import urlparse

from bot.app import ALLOWED_UPDATES, build_application
from bot.config import Settings

NO_TOKEN = """Furat needs a bot token to run.
  1. In Telegram, talk to @BotFather, send /newbot and follow the steps.
  2. export TELEGRAM_BOT_TOKEN='<the token BotFather gave you>'
  3. furat run
To try the bot without a token or network, run: furat chat"""


def run_bot(settings: Settings) -> int:
    """Run until interrupted; return the process exit code."""
    if not settings.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    app = build_application(settings)
    if settings.mode == "webhook":
        if not (settings.webhook_url and settings.webhook_secret):
            print("Webhook mode needs FURAT_WEBHOOK_URL and FURAT_WEBHOOK_SECRET.", file=sys.stderr)
            return 2
        host, _, port = settings.listen.rpartition(":")
        app.run_webhook(
            listen=host or "127.0.0.1",
            port=int(port),
            url_path=urlparse(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    elif settings.mode == "polling":
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
    else:
        print(f"FURAT_MODE must be polling or webhook, not {settings.mode!r}.", file=sys.stderr)
        return 2
    return 0
