"""What every source adapter returns, and the error a payload that lies about itself raises.

An adapter is a pure function ``(payload, headers) -> Adapted``: the parsed JSON body and the
request headers in, the messages it becomes out. It reads only the fields it knows, degrades
when optional ones are missing, and raises :class:`PayloadError` naming the field when the
payload is not what its event says (a ``pull_request`` event without a ``pull_request``
object). An event it does not handle is :meth:`Adapted.ignore`-d: acknowledged, counted,
never an error the sender would show as a failed delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..model.errors import SlackBatcherError
from ..model.message import BatchableMessage

__all__ = ["Adapted", "PayloadError", "SourceEvent"]


class PayloadError(SlackBatcherError, ValueError):
    """A webhook payload is not what its event says; ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """One message an adapter made, with the attributes routes match on.

    ``source`` is the provider (``github``, ``jira``, ``alertmanager``, or ``api`` for
    ``/v1/messages``), ``event`` and ``action`` its event name and action, ``repository`` /
    ``project`` / ``labels`` / ``severity`` / ``author`` what it is about, and ``bot`` whether
    a bot caused it.
    """

    message: BatchableMessage
    source: str
    event: str
    action: str = ""
    repository: str = ""
    project: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    severity: str = ""
    author: str = ""
    bot: bool = False

    @property
    def kind(self) -> str:
        """``event.action`` (or just ``event``): how counters and logs name this kind of event."""
        return f"{self.event}.{self.action}" if self.action else self.event


@dataclass(frozen=True, slots=True)
class Adapted:
    """An adapter's answer: the events a delivery became, or why it was ignored."""

    source: str
    event: str
    events: tuple[SourceEvent, ...] = ()
    #: Why the delivery is acknowledged without a message (None: it made ``events``).
    ignored: str | None = None
    #: A reply the sender expects (GitHub's ``ping`` gets its ``zen`` back).
    note: str | None = None

    @classmethod
    def ignore(cls, source: str, event: str, reason: str) -> Adapted:
        """Acknowledge an event the adapter does not turn into a message."""
        return cls(source, event, ignored=reason)
