"""SlackSender: posts pages with chat.postMessage (and edits with chat.update) via slack_sdk."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..core.log_fields import log_fields
from ..formatting.message import SlackMessage
from ..model.errors import TransientDeliveryError
from ._client import connection_retry_handlers, new_session
from .base import PostResult
from .classify import CONNECTION_ERROR, TIMEOUT, classify, parse_retry_after

__all__ = ["SlackSender"]

logger = logging.getLogger(__name__)


def response_warnings(data: object) -> list[str]:
    """Return the ``response_metadata.warnings`` (and legacy ``warning``) of a Slack answer."""
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    metadata = data.get("response_metadata")
    if isinstance(metadata, dict):
        found += [str(w) for w in metadata.get("warnings") or []]
    legacy = data.get("warning")
    if isinstance(legacy, str):
        found += [w for w in legacy.split(",") if w and w not in found]
    return found


class SlackSender:
    """Posts to Slack's Web API (``chat.postMessage``, ``chat.update``) with a bot token.

    One attempt per :meth:`post`: slack_sdk's connection-error retry handler retries a
    dropped connection ``connection_retries`` times (after ``connection_retry_interval``
    seconds), and nothing else — rate limits, 5xx and timeouts are raised as
    :class:`~slack_batcher.model.errors.TransientDeliveryError` (with ``retry_after`` from Slack's
    ``Retry-After``) for the runtime to retry per channel; permanent failures as
    :class:`~slack_batcher.model.errors.PermanentDeliveryError` (see :mod:`.classify`).

    ``base_url`` points it elsewhere than ``https://slack.com/api/`` (e.g. at
    :class:`~slack_batcher.testing.FakeSlack`); ``timeout`` is the seconds one call may
    take. The HTTP session is opened on the first post and released by :meth:`close`.
    """

    supports_threads = True
    supports_updates = True

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        connection_retries: int = 1,
        connection_retry_interval: float = 0.25,
    ) -> None:
        if not token:
            raise ValueError("token: a Slack bot token (xoxb-…) is required")
        self._token = token
        self._base_url = base_url
        self._timeout = timeout
        self._retry_handlers = connection_retry_handlers(
            connection_retries, connection_retry_interval
        )
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"SlackSender(base_url={self._base_url or 'https://slack.com/api/'!r})"

    def _get_client(self) -> Any:
        if self._closed:
            raise RuntimeError("SlackSender is closed")
        if self._client is None:
            self._session = new_session(self._timeout)
            options: dict[str, Any] = {
                "token": self._token,
                "session": self._session,
                "retry_handlers": self._retry_handlers,
            }
            if self._base_url is not None:
                options["base_url"] = self._base_url
            self._client = AsyncWebClient(**options)
        return self._client

    async def post(
        self, message: SlackMessage, *, channel: str, thread_ts: str | None = None
    ) -> PostResult:
        """Post this page of *message* to *channel* (a reply under *thread_ts* when given)."""
        kwargs = message.to_post_kwargs()
        kwargs["channel"] = channel
        thread = thread_ts if thread_ts is not None else message.thread_ts
        kwargs.pop("thread_ts", None)
        if thread is not None:
            kwargs["thread_ts"] = thread
            if message.metadata.get("reply_broadcast"):
                kwargs["reply_broadcast"] = True
        return await self._call("chat_postMessage", kwargs, channel)

    async def update(self, message: SlackMessage, *, channel: str, ts: str) -> PostResult:
        """Replace the message *ts* in *channel* with this page of *message* (``chat.update``).

        Fails like :meth:`post`; Slack's ``message_not_found`` (the message was deleted) and
        ``cant_update_message`` are raised as
        :class:`~slack_batcher.model.errors.PermanentDeliveryError` with that ``code``.
        """
        kwargs: dict[str, Any] = {
            "channel": channel,
            "ts": ts,
            "text": message.text,
            "blocks": message.blocks,
        }
        return await self._call("chat_update", kwargs, channel)

    async def _call(self, method: str, kwargs: dict[str, Any], channel: str) -> PostResult:
        client = self._get_client()
        try:
            response = await getattr(client, method)(**kwargs)
        except SlackApiError as error:
            raise _api_error(error, channel) from error
        except TimeoutError as error:  # aiohttp's timeouts subclass TimeoutError
            raise TransientDeliveryError(TIMEOUT, f"no answer within {self._timeout}s") from error
        except aiohttp.ClientError as error:
            raise TransientDeliveryError(CONNECTION_ERROR, type(error).__name__) from error
        data = response.data if isinstance(response.data, dict) else {}
        warnings = response_warnings(data)
        if warnings:
            logger.warning(
                "Slack warned about a post to %s: %s",
                channel,
                ", ".join(warnings),
                extra=log_fields(channel=channel),
            )
        return PostResult(
            ts=data.get("ts"), channel=data.get("channel", channel), warnings=warnings
        )

    async def close(self) -> None:
        """Close the HTTP session; later posts raise ``RuntimeError``."""
        self._closed = True
        session, self._session, self._client = self._session, None, None
        if session is not None:
            await session.close()


def _api_error(error: SlackApiError, channel: str) -> Exception:
    response = error.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = getattr(response, "data", None)
    data = data if isinstance(data, dict) else {}
    headers = getattr(response, "headers", None) or {}
    code = data.get("error")
    detail_parts = [str(m) for m in (data.get("response_metadata") or {}).get("messages") or []]
    needed = data.get("needed")
    if needed:
        detail_parts.append(f"needed scope: {needed}")
    failure = classify(
        str(code) if code else None,
        status=status,
        retry_after=parse_retry_after(headers.get("Retry-After")),
        detail="; ".join(detail_parts),
    )
    logger.info(
        "Slack refused a post to %s: %s (HTTP %s)",
        channel,
        failure.code,
        status,
        extra=log_fields(channel=channel, error_code=failure.code),
    )
    return failure
