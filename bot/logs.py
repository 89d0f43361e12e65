"""Logging set-up that never lets the bot token out."""

from __future__ import annotations

import logging

REDACTED = "<token>"


class RedactToken(logging.Filter):
    """Replace the token in every record's message and arguments."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; always keep it."""
        if not self.secret:
            return True
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, REDACTED), None
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, redacted, so handlers print this text instead.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = formatted.replace(self.secret, REDACTED)
            record.exc_info = None
        return True


def configure_logging(level: str, token: str = "") -> None:
    """Log to stderr at level, with the token redacted and httpx's URL lines silenced."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and Bot API URLs hold the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # The scheduler logs every run of every job; a tick every few seconds drowns the log.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactToken) for f in handler.filters):
            handler.addFilter(redact)
