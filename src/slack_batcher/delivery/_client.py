"""What the Slack Web API sender and the webhook sender share: retries and the HTTP session."""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator


def connection_retry_handlers(count: int, interval: float) -> list[AsyncRetryHandler]:
    """Return slack_sdk handlers that retry connection errors only (429/5xx are the runtime's)."""
    return [
        AsyncConnectionErrorRetryHandler(
            max_retry_count=count,
            interval_calculator=FixedValueRetryIntervalCalculator(interval),
        )
    ]


def new_session(timeout: float) -> aiohttp.ClientSession:
    """Return an aiohttp session whose requests time out after *timeout* seconds in all."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
