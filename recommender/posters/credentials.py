"""TMDB credentials and keeping them out of text: logs, errors and reprs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_SECRET_PATTERNS = (
    re.compile(r"(?i)(api_key=)[^&\s'\"#]+"),
    re.compile(r"(?i)(bearer\s+)[^\s'\"]+"),
)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with API keys and bearer tokens replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class _RedactSecrets(logging.Filter):
    """Scrubs urllib3's own log records, which print request URLs with their query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_log_redaction() -> None:
    """Add the scrubbing filter to urllib3's loggers (once; calling again changes nothing)."""
    # A logger's filters only see records created on that exact logger, hence the list.
    for name in ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactSecrets) for f in logger.filters):
            logger.addFilter(_RedactSecrets())


class Credentials:
    """A v3 API key or a v4 read-access token; the repr never shows either."""

    __slots__ = ("_key", "_token")

    def __init__(self, api_key: str | None, read_token: str | None) -> None:
        self._key = (api_key or "").strip() or None
        self._token = (read_token or "").strip() or None

    @property
    def kind(self) -> str:
        """"bearer", "api_key" or "none"."""
        # The token wins when both are set: a header stays out of URLs and server logs.
        return "bearer" if self._token else "api_key" if self._key else "none"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._key, self._token) if s)

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        """Add the credential to a request's query parameters or headers."""
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        elif self._key:
            params["api_key"] = self._key

    def __repr__(self) -> str:
        return f"<TMDB credentials: {self.kind}, redacted>"
