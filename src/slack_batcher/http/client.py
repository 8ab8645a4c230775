"""ServiceClient: a small synchronous client of the HTTP API (used by the CLI)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

__all__ = ["ApiError", "ServiceClient", "Unreachable"]


class ApiError(Exception):
    """The server answered with an error; ``status`` is the HTTP status, ``detail`` its words."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None):
        self.status = status
        self.detail = detail
        self.errors = errors or []
        super().__init__(f"HTTP {status}: {detail}")


class Unreachable(Exception):
    """The server could not be reached (refused, timed out, bad URL)."""


class ServiceClient:
    """Talks to a running ``slack-batcher serve`` at *url*, with the API *token* if any."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        ok: tuple[int, ...] = (),
    ) -> Any:
        """Send a request; return the decoded JSON body or raise ApiError / Unreachable.

        Statuses in *ok* are returned like successes (``/v1/health`` answers 503 with a body).
        """
        try:
            response = self._client.request(method, path, json=json, params=params)
        except httpx.InvalidURL as exc:
            raise Unreachable(f"invalid server URL: {exc}") from None
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach {self._client.base_url}: {exc}") from None
        if response.is_success or response.status_code in ok:
            return response.json()
        try:
            body = response.json()
        except ValueError:
            body = {}
        detail = body.get("detail") if isinstance(body, dict) else None
        errors = body.get("errors") if isinstance(body, dict) else None
        raise ApiError(response.status_code, str(detail or response.reason_phrase), errors)

    def submit(self, events: list[dict[str, Any]] | dict[str, Any]) -> dict[str, Any]:
        """POST /v1/messages."""
        result: dict[str, Any] = self.request("POST", "/v1/messages", json=events)
        return result

    def flush(self, channel: str | None = None) -> dict[str, Any]:
        """POST /v1/flush (all channels, or one)."""
        params = {"channel": channel} if channel else None
        result: dict[str, Any] = self.request("POST", "/v1/flush", params=params)
        return result

    def flush_batch(self, batch_id: str) -> dict[str, Any]:
        """POST /v1/batches/{id}/flush."""
        result: dict[str, Any] = self.request("POST", f"/v1/batches/{_quote(batch_id)}/flush")
        return result

    def batches(self, channel: str | None = None) -> dict[str, Any]:
        """GET /v1/batches."""
        params = {"channel": channel} if channel else None
        result: dict[str, Any] = self.request("GET", "/v1/batches", params=params)
        return result

    def stats(self, channel: str | None = None) -> dict[str, Any]:
        """GET /v1/stats, or /v1/channels/{id}/stats."""
        path = f"/v1/channels/{_quote(channel)}/stats" if channel else "/v1/stats"
        result: dict[str, Any] = self.request("GET", path)
        return result

    def health(self) -> dict[str, Any]:
        """GET /v1/health (an unhealthy status is returned, not raised)."""
        result: dict[str, Any] = self.request("GET", "/v1/health", ok=(503,))
        return result

    def dead_letters(self, channel: str | None = None) -> list[dict[str, Any]]:
        """GET /v1/dead-letters."""
        params = {"channel": channel} if channel else None
        result: dict[str, Any] = self.request("GET", "/v1/dead-letters", params=params)
        letters: list[dict[str, Any]] = result["dead_letters"]
        return letters

    def replay(self, letter_id: str) -> dict[str, Any]:
        """POST /v1/dead-letters/{id}/replay."""
        path = f"/v1/dead-letters/{_quote(letter_id)}/replay"
        result: dict[str, Any] = self.request("POST", path)
        return result


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
