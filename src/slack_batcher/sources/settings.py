"""The ``[sources.*]`` tables: each provider's secret. Without one a source is disabled (404).

::

    [sources.github]
    secret = "…"        # the webhook's secret; or SLACK_BATCHER_SOURCES__GITHUB__SECRET
    [sources.jira]
    secret = "…"        # the admin webhook's secret; or SLACK_BATCHER_SOURCES__JIRA__SECRET
    [sources.alertmanager]
    token = "…"         # http_config.authorization credentials; or …__ALERTMANAGER__TOKEN

An empty or blank secret counts as none: the source stays disabled, never open.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["BearerSource", "HmacSource", "SourcesSettings"]

_STRICT = ConfigDict(extra="forbid")


def _blank_is_none(value: object) -> object:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str) and not value.strip():
        return None
    return value


class HmacSource(BaseModel):
    """A source that signs its body with HMAC-SHA256 under a shared secret (GitHub, Jira)."""

    model_config = _STRICT

    secret: SecretStr | None = None

    @field_validator("secret", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return _blank_is_none(value)

    @property
    def credential(self) -> str | None:
        """The secret, or None when the source is disabled."""
        return self.secret.get_secret_value() if self.secret is not None else None


class BearerSource(BaseModel):
    """A source that sends ``Authorization: Bearer <token>`` (Alertmanager)."""

    model_config = _STRICT

    token: SecretStr | None = None

    @field_validator("token", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return _blank_is_none(value)

    @property
    def credential(self) -> str | None:
        """The token, or None when the source is disabled."""
        return self.token.get_secret_value() if self.token is not None else None


class SourcesSettings(BaseModel):
    """Every webhook source's credentials, and how many recent message ids are remembered."""

    model_config = _STRICT

    github: HmacSource = Field(default_factory=HmacSource)
    jira: HmacSource = Field(default_factory=HmacSource)
    alertmanager: BearerSource = Field(default_factory=BearerSource)
    #: Message ids remembered to recognise redeliveries after their batch flushed: in the
    #: store (SQLite, Redis) when it can keep them, else per process; 0 turns it off.
    remember_ids: int = Field(default=50_000, ge=0, le=10_000_000)
    #: How long an accepted id is remembered in the store (GitHub redelivers up to 3 days
    #: back, GitHub Enterprise Server 7).
    remember_days: float = Field(default=7.0, gt=0, le=365)

    def credential(self, source: str) -> str | None:
        """Return the secret or token of *source*, or None when it is disabled."""
        table = getattr(self, source, None)
        if isinstance(table, HmacSource | BearerSource):
            return table.credential
        return None

    def enabled(self) -> list[str]:
        """Return the names of the sources that have a secret."""
        return [name for name in ("github", "jira", "alertmanager") if self.credential(name)]
