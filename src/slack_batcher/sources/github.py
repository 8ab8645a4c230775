"""GitHub webhooks (repository or organisation) → messages.

One delivery becomes at most one message, whose id is the ``X-GitHub-Delivery`` GUID (so a
redelivery is recognised). Handled events and actions:

=============================  ===========================================================
event                          actions → message
=============================  ===========================================================
``ping``                       acknowledged with its ``zen``; no message
``pull_request``               opened, reopened, closed (→ merged / closed),
                               ready_for_review, review_requested, converted_to_draft
``pull_request_review``        submitted: approved, changes requested, commented
``pull_request_review_comment`` created
``issue_comment``              created (on a pull request: a PR update)
``issues``                     opened, reopened, closed, assigned
``push``                       branch or tag, commit count, compare link
``workflow_run``,              completed (a failure is a high-priority CI build)
``check_suite``,
``workflow_job``
``deployment_status``          created (failure / error: high priority)
``release``                    published
``dependabot_alert``,          every action; the advisory's severity is the priority
``code_scanning_alert``,
``secret_scanning_alert``
=============================  ===========================================================

Anything else is ignored (acknowledged and counted). Messages about a pull request or issue
share its thread key; a delivery whose sender is a bot is marked ``bot`` for routes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import _github_code as code
from . import _github_ops as ops
from ._fields import obj, text
from ._github_common import SOURCE, Delivery, delivery_id, header
from ._provider_shapes import GITHUB_EVENTS
from .base import Adapted, PayloadError, SourceEvent
from .shapes import check

__all__ = ["EVENTS", "adapt"]

_HANDLERS: dict[str, Callable[[Delivery, Mapping[str, Any]], SourceEvent | str]] = {
    "pull_request": code.pull_request,
    "pull_request_review": code.review,
    "pull_request_review_comment": code.review_comment,
    "issue_comment": code.issue_comment,
    "issues": code.issues,
    "push": code.push,
    "workflow_run": ops.ci,
    "check_suite": ops.ci,
    "workflow_job": ops.ci,
    "deployment_status": ops.deployment_status,
    "release": ops.release,
    "dependabot_alert": ops.security_alert,
    "code_scanning_alert": ops.security_alert,
    "secret_scanning_alert": ops.security_alert,
}
#: The events this adapter turns into messages (``ping`` is answered, not batched).
EVENTS = ("ping", *_HANDLERS)


def adapt(payload: object, headers: Mapping[str, str]) -> Adapted:
    """Turn one GitHub delivery into its message, or say why it is ignored.

    *headers* must carry ``X-GitHub-Event`` (any case); raises :class:`PayloadError` naming
    the field when the payload is not what the event says.
    """
    event = header(headers, "X-GitHub-Event")
    if not event:
        raise PayloadError("X-GitHub-Event", "header missing: which event is this?")
    if not isinstance(payload, dict):
        raise PayloadError("body", "expected a JSON object")
    if event == "ping":
        return Adapted(SOURCE, event, ignored="ping", note=text(payload, "zen") or "pong")
    handler = _HANDLERS.get(event)
    if handler is None:
        return Adapted.ignore(SOURCE, event, f"event {event!r} is not reported")
    check(GITHUB_EVENTS[event], payload)
    sender = obj(payload, "sender")
    login = text(sender, "login", limit=255)
    delivery = Delivery(
        event=event,
        action=text(payload, "action", limit=100),
        delivery=delivery_id(headers, payload),
        repository=text(payload, "repository", "full_name", limit=255),
        repo_url=text(payload, "repository", "html_url"),
        sender=login,
        bot=text(sender, "type") == "Bot" or login.endswith("[bot]"),
    )
    outcome = handler(delivery, payload)
    if isinstance(outcome, str):
        return Adapted.ignore(
            SOURCE, f"{event}.{delivery.action}" if delivery.action else event, outcome
        )
    return Adapted(SOURCE, event, (outcome,))
