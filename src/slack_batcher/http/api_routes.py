"""Routing ``/v1/messages`` events without a channel through the ``[[routes]]`` table."""

from __future__ import annotations

from typing import Any

from ..model.errors import InvalidMessageError
from ..model.message import BatchableMessage
from ..routing.table import RouteTable
from ..sources.api import api_event

__all__ = ["require_channel_in_schema", "route_api_event", "route_label"]


def route_label(table: RouteTable, routes: tuple[int, ...], channel: str) -> str:
    """Return the label of the first of *routes* that sends to *channel* (``routes[2] (ci)``)."""
    for index in routes:
        if 0 <= index < len(table.routes) and channel in table.routes[index].channels:
            return table.routes[index].label
    return f"routes[{routes[0]}]" if routes else ""


def route_api_event(routes: RouteTable, message: BatchableMessage) -> tuple[tuple[str, str], ...]:
    """Return the (channel, route label)s the routes choose for a ``/v1/messages`` event.

    The event is routed as source ``api``, event = its content type, action / repository /
    project / severity / labels from its data. Raises InvalidMessageError naming ``channel``
    when no route takes it.
    """
    if not routes:
        raise InvalidMessageError("channel", "required: no [[routes]] are configured to pick one")
    event = api_event(message)
    decision = routes.route(event)
    if decision.dropped:
        raise InvalidMessageError("channel", "left out, and a drop route matches this event")
    if decision.unrouted:
        raise InvalidMessageError(
            "channel",
            f"left out, and no route matches this event (source 'api', event "
            f"{event.event!r}); name a channel or add a route",
        )
    return tuple((c, route_label(routes, decision.routes, c)) for c in decision.channels)


def require_channel_in_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Mark ``channel`` required in the OpenAPI schema: without routes every event names one."""
    model = schema.get("components", {}).get("schemas", {}).get("MessageIn")
    if isinstance(model, dict):
        required = model.setdefault("required", [])
        if "channel" not in required:
            required.append("channel")
        channel = model.get("properties", {}).get("channel", {})
        for branch in channel.pop("anyOf", []):  # "string or null" becomes "string"
            if branch.get("type") == "string":
                channel.update(branch)
        channel.pop("default", None)
    return schema
