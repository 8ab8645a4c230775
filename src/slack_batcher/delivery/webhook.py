"""WebhookSender: posts pages to a Slack incoming webhook through slack_sdk's async client."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from ..core.log_fields import log_fields
from ..formatting.message import SlackMessage
from ..model.errors import TransientDeliveryError
from ._client import connection_retry_handlers, new_session
from .base import PostResult
from .classify import CONNECTION_ERROR, TIMEOUT, classify, parse_retry_after

__all__ = ["WebhookSender"]

logger = logging.getLogger(__name__)
# slack_sdk's webhook client logs the URL (the credential) at DEBUG unless its logger's own
# level is above DEBUG: hand it one that is.
_sdk_logger = logging.getLogger(f"{__name__}.client")
_sdk_logger.setLevel(logging.INFO)
_ERROR_WORD = re.compile(r"[a-z_]{2,64}")


class WebhookSender:
    """Posts to one Slack incoming webhook URL (the webhook decides the channel).

    Webhooks answer ``200 ok`` and nothing more: no ``ts``, so nothing can be threaded
    under a webhook post (``supports_threads`` is False; the runtime posts continuation
    pages as "(2/3)" follow-ups instead) and :class:`PostResult` has ``ts=None``. Nor can
    a webhook post be edited, so live digests are off: every flush is a new post, as before.
    Failures are classified like :class:`~slack_batcher.delivery.SlackSender`'s:
    429/5xx/timeouts are transient, ``invalid_payload``, ``channel_is_archived``,
    ``action_prohibited`` … permanent, and a removed webhook (``no_service``,
    ``invalid_token``) an auth error. The URL is a secret: it is never logged.
    """

    supports_threads = False

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        connection_retries: int = 1,
        connection_retry_interval: float = 0.25,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("url: an incoming webhook URL (https://hooks.slack.com/…) is needed")
        self._url = url
        self._host = parts.netloc
        self._timeout = timeout
        self._retry_handlers = connection_retry_handlers(
            connection_retries, connection_retry_interval
        )
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebhookClient | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"WebhookSender(host={self._host!r})"

    def _get_client(self) -> AsyncWebhookClient:
        if self._closed:
            raise RuntimeError("WebhookSender is closed")
        if self._client is None:
            self._session = new_session(self._timeout)
            self._client = AsyncWebhookClient(
                self._url,
                session=self._session,
                retry_handlers=self._retry_handlers,
                logger=_sdk_logger,
            )
        return self._client

    async def post(
        self, message: SlackMessage, *, channel: str, thread_ts: str | None = None
    ) -> PostResult:
        """Post this page of *message* to the webhook; *channel* is only reported back."""
        body: dict[str, Any] = {"text": message.text, "blocks": message.blocks}
        thread = thread_ts if thread_ts is not None else message.thread_ts
        if thread is not None:
            body["thread_ts"] = thread
        client = self._get_client()
        try:
            response = await client.send_dict(body)
        except TimeoutError as error:
            raise TransientDeliveryError(TIMEOUT, f"no answer within {self._timeout}s") from error
        except aiohttp.ClientError as error:
            raise TransientDeliveryError(CONNECTION_ERROR, type(error).__name__) from error
        if response.status_code == 200:
            return PostResult(ts=None, channel=channel)
        text = (response.body or "").strip()
        code = text if _ERROR_WORD.fullmatch(text) else None
        headers = response.headers or {}
        failure = classify(
            code,
            status=response.status_code,
            retry_after=parse_retry_after(headers.get("Retry-After")),
        )
        logger.info(
            "The webhook refused a post for %s: %s (HTTP %s)",
            channel,
            failure.code,
            response.status_code,
            extra=log_fields(channel=channel, error_code=failure.code),
        )
        raise failure

    async def close(self) -> None:
        """Close the HTTP session; later posts raise ``RuntimeError``."""
        self._closed = True
        session, self._session, self._client = self._session, None, None
        if session is not None:
            await session.close()
