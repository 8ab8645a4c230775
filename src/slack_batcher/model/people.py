"""People: who must act on a post, as Slack user ids mapped from GitHub logins and Jira emails.

A digest mentions the people a change waits on — a requested reviewer, a ticket's new
assignee, the author of a failed build — but only through ``[people]``: a GitHub login or a
Jira email maps to a Slack user id (``U…``/``W…``, checked). Nothing from a payload is ever
put in a mention, so an event cannot ping ``<!channel>``, ``<!here>`` or anyone unmapped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .message import BatchableMessage, ContentType

__all__ = ["ASKS", "SLACK_USER_ID", "Ask", "People"]

#: A Slack user id, the only thing a mention is ever made of.
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
#: What a post can ask of people: review requested, ticket assigned, build failed.
ASKS = ("reviewer", "assignee", "author_on_failure")
_FAILED = frozenset({"failure", "failed", "timed_out", "startup_failure", "error", "errored"})


@dataclass(frozen=True, slots=True)
class Ask:
    """One person asked to act: a Slack user id, what for, and about what."""

    user_id: str
    why: str
    about: str


def _text(value: object) -> str:
    return str(value).strip() if isinstance(value, str | int) else ""


@dataclass(frozen=True)
class People:
    """GitHub logins and Jira emails → Slack user ids, and which asks to mention."""

    github: Mapping[str, str] = field(default_factory=dict)
    jira: Mapping[str, str] = field(default_factory=dict)
    mention: frozenset[str] = frozenset(ASKS)

    def __post_init__(self) -> None:
        for table, mapping in (("github", self.github), ("jira", self.jira)):
            for name, user_id in mapping.items():
                if not SLACK_USER_ID.fullmatch(user_id):
                    raise ValueError(f"people.{table}.{name}: not a Slack user id: {user_id!r}")
        unknown = set(self.mention) - set(ASKS)
        if unknown:
            raise ValueError(f"people.mention: unknown {sorted(unknown)}; one of {list(ASKS)}")
        object.__setattr__(self, "github", {k.lower(): v for k, v in self.github.items()})
        object.__setattr__(self, "jira", {k.lower(): v for k, v in self.jira.items()})

    def __bool__(self) -> bool:
        return bool(self.github or self.jira) and bool(self.mention)

    def _github(self, login: object) -> str | None:
        return self.github.get(_text(login).lower())

    def asks(
        self, messages: Sequence[BatchableMessage], mention: Iterable[str] | None = None
    ) -> list[Ask]:
        """Return who each message waits on (latest first, one ask per person and thing).

        *mention* replaces :attr:`mention` (a route's own list).
        """
        chosen = self.mention if mention is None else frozenset(mention)
        found: dict[tuple[str, str], Ask] = {}
        for message in reversed(messages):
            for ask in self._asks_of(message, chosen):
                found.setdefault((ask.user_id, ask.about), ask)
        return list(found.values())

    def _asks_of(self, message: BatchableMessage, mention: frozenset[str]) -> Iterable[Ask]:
        data = message.data
        kind = message.content_type
        if kind is ContentType.PR_UPDATE and "reviewer" in mention:
            about = f"{_text(data.get('repository'))}#{_text(data.get('number'))}"
            reviewers = data.get("reviewers")
            if "review" in _text(data.get("action")) and isinstance(reviewers, list):
                for login in reviewers:
                    user_id = self._github(login)
                    if user_id:
                        yield Ask(user_id, "review", about)
        elif kind is ContentType.JIRA_UPDATE and "assignee" in mention:
            email = _text(data.get("assignee_email")).lower()
            assigned = _text(data.get("event")) == "assigned"
            user_id = self.jira.get(email) if email and assigned else None
            if user_id:
                yield Ask(user_id, "assigned", _text(data.get("key")))
        elif (
            kind is ContentType.CI_BUILD
            and "author_on_failure" in mention
            and _text(data.get("conclusion")).lower() in _FAILED
        ):
            user_id = self._github(message.author)
            if user_id:
                about = _text(data.get("pipeline")) or _text(data.get("repository"))
                yield Ask(user_id, "fix the build", about)
