"""POST JSON to a server, with retries: the one HTTP client of the server backends
(sampling's `openai`, scoring's `http`).

HTTP 408/409/425/429 and 5xx, timeouts, dropped connections and answers that are not
JSON are retried up to `max_retries` times with exponential backoff (`backoff_s *
2**attempt`, capped at `max_backoff_s`, with jitter, or the server's Retry-After, also
capped); any other HTTP error, or running out of retries, raises the caller's error
class with a message naming the URL and the last error. An API key is sent only as a
Bearer token and never appears in a message.

Standard library only, and no `monkeys` import: a stage that imports it adds only this
file to its code hash (`monkeys.hashing.module_closure`).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.client import HTTPException
from typing import Any, Protocol

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class RetrySettings(Protocol):
    """The retry settings of a backend's config (both backends' configs have these fields)."""

    @property
    def max_retries(self) -> int: ...

    @property
    def backoff_s(self) -> float: ...

    @property
    def max_backoff_s(self) -> float: ...

    @property
    def timeout_s(self) -> float: ...


def backoff_delay(attempt: int, settings: RetrySettings, retry_after: str | None, jitter: float) -> float:
    """Seconds to wait before retry `attempt + 1`: the server's Retry-After (seconds) when it
    sent a number, else `backoff_s * 2**attempt` scaled by `0.5 + jitter / 2` (jitter in
    [0, 1)); at most `max_backoff_s` either way."""
    if retry_after:
        try:
            return min(settings.max_backoff_s, float(retry_after))
        except ValueError:
            pass
    return min(settings.max_backoff_s, settings.backoff_s * 2**attempt) * (0.5 + jitter / 2)


class JSONPoster:
    """POSTs JSON bodies to one URL with retries; `stats` counts requests, attempts, retries.

    `where` starts every message (e.g. "POST <url>"); `error` is the exception class raised.
    Thread-safe: one poster serves all of a backend's concurrent requests.
    """

    def __init__(
        self,
        url: str,
        settings: RetrySettings,
        *,
        where: str,
        error: Callable[[str], Exception],
        api_key: str | None = None,
    ):
        self.url = url
        self.settings = settings
        self.where = where
        self.error = error
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._lock = threading.Lock()
        self.stats = {"requests": 0, "attempts": 0, "retries": 0}

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """The server's JSON answer to `body`, after retries of what may succeed later."""
        cfg = self.settings
        data = json.dumps(body).encode("utf-8")
        self._count("requests")
        last = ""
        for attempt in range(cfg.max_retries + 1):
            self._count("attempts")
            retry_after = None
            try:
                request = urllib.request.Request(self.url, data=data, headers=self._headers, method="POST")
                with urllib.request.urlopen(request, timeout=cfg.timeout_s) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", errors="replace").strip()
                last = f"HTTP {exc.code}: {detail or exc.reason}"
                if exc.code not in RETRYABLE_STATUS:
                    raise self.error(f"{self.where}: {last}") from None
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
            except (urllib.error.URLError, TimeoutError, ConnectionError, HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"{type(reason).__name__}: {reason}"
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                last = f"the answer is not JSON ({exc})"
            if attempt == cfg.max_retries:
                break
            delay = backoff_delay(attempt, cfg, retry_after, random.random())
            self._count("retries")
            log.warning(
                "%s: %s; retry %d/%d in %.2f s", self.where, last, attempt + 1, cfg.max_retries, delay
            )
            time.sleep(delay)
        raise self.error(f"{self.where}: giving up after {cfg.max_retries + 1} attempts; last error: {last}")
