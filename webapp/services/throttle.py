"""Per-client rate limits that answer ``429`` + ``Retry-After`` instead of sleeping.

New raters are limited per client address with a token bucket: a burst of ``N``
creations, refilled evenly over the window (``RATER_CREATION_LIMIT = "N/SECONDS"``,
``"0"`` for none). Raters behind one address (a lab, a campus NAT) share the burst, so
keep ``N`` well above the size of a group that starts together. The buckets live in
the memory of each worker process, so with ``W`` worker processes a client can create
up to ``W`` times the limit: this guards the database against a runaway script, it is
not an exact quota (the admin login throttle, which must be exact, is in the database).
"""

from __future__ import annotations

import math
import threading
import time

from flask import current_app, request

from webapp.services.validation import InputError

#: Buckets kept before full (idle) ones are forgotten.
MAX_CLIENTS = 10_000


class RateLimited(InputError):
    """A refused request: ``retry_after_s`` goes into the ``Retry-After`` header."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, 429)
        self.retry_after_s = retry_after_s


def parse_limit(text: str) -> tuple[int, float] | None:
    """``"N/SECONDS"`` -> ``(N, SECONDS)``; ``"0"`` or empty -> ``None`` (no limit).

    Raises:
        ValueError: anything else, with the expected form.
    """
    text = str(text or "").strip()
    if text in ("", "0"):
        return None
    burst, _, window = text.partition("/")
    try:
        n, seconds = int(burst), float(window)
    except ValueError:
        n, seconds = 0, 0.0
    if n < 1 or not 0 < seconds < math.inf:
        raise ValueError(f"a rate limit must look like 30/60 (N per seconds) or 0, got {text!r}")
    return n, seconds


class TokenBuckets:
    """Token buckets by key, thread-safe, bounded in memory."""

    def __init__(self, burst: int, window_s: float) -> None:
        self.burst, self.rate = burst, burst / window_s
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float | None = None) -> int:
        """Take one token: 0 when allowed, else whole seconds until one is available."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > MAX_CLIENTS:
                    self._forget_full(now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _forget_full(self, now: float) -> None:
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.rate >= self.burst:
                del self._buckets[key]


def check_rater_creation() -> None:
    """Refuse a new rater from a client over ``RATER_CREATION_LIMIT``.

    Raises:
        RateLimited: 429 with the seconds to wait.
    """
    app = current_app
    buckets = app.extensions.get("dmc_rater_buckets")
    if buckets is None:
        return
    wait = buckets.take(request.remote_addr or "unknown")
    if wait:
        raise RateLimited(f"too many new raters from this address; try again in {wait} s", wait)


def init_app(app) -> None:
    limit = parse_limit(app.config.get("RATER_CREATION_LIMIT", "0"))
    if limit is not None:
        app.extensions["dmc_rater_buckets"] = TokenBuckets(*limit)
