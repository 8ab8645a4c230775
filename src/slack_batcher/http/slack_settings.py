"""``[slack]``: Slack interactivity (buttons on digests) and who is who (``[people]`` later).

``signing_secret`` (better: ``SLACK_BATCHER_SLACK__SIGNING_SECRET``) is the Slack app's
signing secret (app settings → Basic Information). Without it ``POST
/v1/slack/interactions`` answers 404 and posts carry no controls.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ..model.people import People

__all__ = ["PeopleSettings", "SlackSettings"]

AskKind = Literal["reviewer", "assignee", "author_on_failure"]


class SlackSettings(BaseModel):
    """Slack interactivity: the signing secret, the body limit, where responses may go."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    signing_secret: SecretStr | None = None
    #: The largest interaction body read (Slack sends the clicked message's blocks along).
    max_body_bytes: int = Field(default=256 * 1024, ge=4096, le=4 * 1024 * 1024)
    #: ``response_url`` s the service answers to; anything else is not called.
    response_url_prefixes: list[str] = Field(
        default_factory=lambda: ["https://hooks.slack.com/"], min_length=1
    )

    @field_validator("signing_secret", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and not raw.strip():
            return None
        return value

    def secret(self) -> str | None:
        """Return the signing secret, or None when interactivity is off."""
        if self.signing_secret is None:
            return None
        return self.signing_secret.get_secret_value().strip() or None


class PeopleSettings(BaseModel):
    """``[people]``: GitHub logins and Jira emails → Slack user ids, for "who must act".

    ``[people.github]`` ``alice = "U0123ABCD"``; ``[people.jira]``
    ``"bob@acme.io" = "U0456EFGH"``; ``mention`` chooses what is asked: ``reviewer`` (review
    requested), ``assignee`` (ticket assigned), ``author_on_failure`` (a failed build).
    """

    model_config = ConfigDict(extra="forbid")

    github: dict[str, str] = Field(default_factory=dict)
    jira: dict[str, str] = Field(default_factory=dict)
    mention: list[AskKind] = Field(
        default_factory=lambda: list[AskKind](["reviewer", "assignee", "author_on_failure"])
    )

    @field_validator("github", "jira")
    @classmethod
    def _user_ids(cls, value: dict[str, str]) -> dict[str, str]:
        People(github=value)  # raises naming the entry that is not a Slack user id
        return value

    def people(self) -> People:
        """Return the mapping the runtime mentions from."""
        return People(github=self.github, jira=self.jira, mention=frozenset(self.mention))
