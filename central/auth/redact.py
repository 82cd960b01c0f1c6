"""Secrets never reach a log line: a logging filter that blanks ``token=`` values.

Central refuses a token in a URL (``central.auth.guard``), but the server in front of the app
logs the request line of a refused socket before any of our code runs ("WebSocket
/ws?token=... 403"), and a stolen log must not be a way in. ``install`` puts the filter on
uvicorn's loggers and central's own.
"""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(?i)((?:token|access_token|session|password)=)[^&\s\"']+")
LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "central")


def redact(text: str) -> str:
    return _SECRET.sub(r"\1[redacted]", text)


class Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, Redact) for f in logger.filters):
            logger.addFilter(Redact())
