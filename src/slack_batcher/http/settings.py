"""Service configuration: one TOML file plus environment variables.

The file has one table per concern; every key is optional::

    [batching]          # BatchConfig's fields (see docs/grouping.md)
    max_batch_size = 5
    [store]
    url = "sqlite:///slack-batcher.db"
    [sender]            # kind = "auto" picks slack (bot token), webhook (URL) or jsonl
    kind = "auto"
    [delivery]          # the runtime's ServiceConfig: pacing, retries, threads, shutdown
    channel_posts_per_second = 1.0
    [server]
    host = "127.0.0.1"
    port = 8787
    [logging]
    level = "INFO"
    [sources.github]    # webhook sources and [[routes]]: see docs/sources.md
    secret = "…"

Environment variables override the file: ``SLACK_BATCHER_<TABLE>__<KEY>`` (for example
``SLACK_BATCHER_SERVER__PORT=9000``), plus the usual names for secrets:
``SLACK_BATCHER_API_TOKEN``, ``SLACK_BOT_TOKEN`` and ``SLACK_WEBHOOK_URL``. Secrets are
:class:`~pydantic.SecretStr`: they never show in ``repr``, logs or error messages.

:func:`load_settings` returns valid settings or raises :class:`ConfigError` listing every
problem with its dotted key (``server.port: …``); :func:`check_settings` returns that list.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ..model.config import BatchConfig
from ..model.errors import ConfigError
from ..routing.table import RouteTable, parse_routes
from ..runtime.config import ServiceConfig
from ..sources.settings import SourcesSettings
from .slack_settings import PeopleSettings, SlackSettings

__all__ = [
    "ENV_ALIASES",
    "MIN_API_TOKEN_LENGTH",
    "LoggingSettings",
    "SenderSettings",
    "ServerSettings",
    "ServiceSettings",
    "StoreSettings",
    "check_settings",
    "load_settings",
]

#: Environment variables read under their customary names, and the key each one sets.
ENV_ALIASES: dict[str, tuple[str, str]] = {
    "SLACK_BATCHER_API_TOKEN": ("server", "api_token"),
    "SLACK_BOT_TOKEN": ("sender", "slack_bot_token"),
    "SLACK_WEBHOOK_URL": ("sender", "webhook_url"),
}

_STRICT = ConfigDict(extra="forbid")
_BATCH_FIELDS = {f.name for f in dataclasses.fields(BatchConfig)}
_DELIVERY_FIELDS = {f.name for f in dataclasses.fields(ServiceConfig)}


def _coerce_env_strings(value: dict[str, Any], known: set[str]) -> dict[str, Any]:
    """Decode values that came from the environment as strings: "10", "true", '["a"]'."""
    coerced: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, str) and key in known:
            with contextlib.suppress(ValueError):
                item = json.loads(item)
        coerced[key] = item
    return coerced


def _parse_batching(value: object) -> BatchConfig:
    """Build a BatchConfig from a TOML table or env values; raise ConfigError naming each key."""
    if isinstance(value, BatchConfig):
        value.ensure_valid()
        return value
    if not isinstance(value, dict):
        raise ConfigError([f"expected a table of settings, got {type(value).__name__}"])
    return BatchConfig.from_dict(_coerce_env_strings(value, _BATCH_FIELDS))


def _parse_delivery(value: object) -> ServiceConfig:
    """Build the runtime's ServiceConfig (pacing, retries, threads, shutdown) from a table."""
    if isinstance(value, ServiceConfig):
        value.ensure_valid()
        return value
    if not isinstance(value, dict):
        raise ConfigError([f"expected a table of settings, got {type(value).__name__}"])
    return ServiceConfig.from_dict(_coerce_env_strings(value, _DELIVERY_FIELDS))


def _parse_route_table(value: object) -> RouteTable:
    """Build the route table from ``[[routes]]``; ConfigError names each bad key."""
    return parse_routes(value)


RoutesList = Annotated[
    RouteTable,
    PlainValidator(_parse_route_table),
    PlainSerializer(lambda table: table.to_list(), return_type=list),
]
BatchingTable = Annotated[
    BatchConfig,
    PlainValidator(_parse_batching),
    PlainSerializer(lambda config: config.to_dict(), return_type=dict),
]
DeliveryTable = Annotated[
    ServiceConfig,
    PlainValidator(_parse_delivery),
    PlainSerializer(lambda config: config.to_dict(), return_type=dict),
]


class StoreSettings(BaseModel):
    """Where batches, the outbox and dead letters live.

    ``sqlite:///path`` (one process), ``memory://`` (nothing survives), or Redis:
    ``redis://[:password@]host:port/db``, ``rediss://`` (TLS), ``unix:///path/redis.sock`` or
    ``redis+sentinel://host:port[,host:port]/service[/db]`` (through Sentinel),
    shared by every instance given the same URL and ``prefix``.
    """

    model_config = _STRICT

    url: str = Field(
        default="sqlite:///slack-batcher.db",
        pattern=r"^(sqlite:///.+|memory://|rediss?://.+|redis\+sentinel://.+|unix:///.+)$",
    )
    #: Redis only: every key starts with this (instances sharing batches use the same one).
    prefix: str = Field(default="slack-batcher", pattern=r"^[^{}\s]+$", max_length=100)
    #: Redis only: how long an instance that stopped (died) keeps its posts before another
    #: instance takes them over; a claimed batch is held twice as long.
    lease_seconds: float = Field(default=15.0, gt=0, le=3600)
    #: Redis only: how often each instance looks for due batches and posts to take over.
    poll_seconds: float = Field(default=1.0, gt=0, le=60)

    @property
    def display_url(self) -> str:
        """The URL with any password replaced by ``***``: safe to log and show."""
        from ..store.describe import redacted_url

        return redacted_url(self.url)

    @property
    def is_redis(self) -> bool:
        """True when the URL names a Redis server."""
        return self.url.startswith(("redis://", "rediss://", "redis+sentinel://", "unix://"))

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file of a ``sqlite:///`` URL, else None."""
        prefix = "sqlite:///"
        return Path(self.url[len(prefix) :]) if self.url.startswith(prefix) else None


class SenderSettings(BaseModel):
    """Where posts go. ``auto``: Slack with a bot token, else a webhook URL, else JSONL."""

    model_config = _STRICT

    kind: Literal["auto", "slack", "webhook", "jsonl", "console"] = "auto"
    slack_bot_token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    #: Slack Web API base URL; change it only to talk to a Slack-compatible test server.
    slack_api_url: str = Field(default="https://slack.com/api/", pattern=r"^https?://")
    #: The dry-run file of the ``jsonl`` sender: one JSON payload per line.
    jsonl_path: Path = Path("slack-batcher-posts.jsonl")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    def resolved_kind(self) -> str:
        """Return the sender this configuration selects (``auto`` resolved)."""
        if self.kind != "auto":
            return self.kind
        if self.slack_bot_token is not None:
            return "slack"
        if self.webhook_url is not None:
            return "webhook"
        return "jsonl"


#: The shortest API token accepted: shorter ones are guessable, so they are refused.
MIN_API_TOKEN_LENGTH = 16


class ServerSettings(BaseModel):
    """The HTTP service: listen address, API token, request limits, dashboard refresh."""

    model_config = _STRICT

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8787, ge=0, le=65_535)
    #: Bearer token required on every /v1 route. Without one, only loopback binds are allowed.
    #: Surrounding whitespace is dropped; an empty token is no token; a short one is refused.
    api_token: SecretStr | None = Field(default=None)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    #: A request body not complete this long after the request started is answered 408
    #: and its connection closed (a client trickling bytes cannot hold it open).
    max_body_seconds: float = Field(default=30.0, gt=0, le=600)
    #: A connection that sends no complete request line and headers this long after it
    #: opened (or after its last response) is closed.
    max_head_seconds: float = Field(default=10.0, gt=0, le=600)
    #: Connections and requests served at once (uvicorn's ``limit_concurrency``); past it,
    #: requests are answered 503 at once. Default: half the process's file descriptor limit
    #: (``ulimit -n``), at most 1000, so the server answers rather than runs out of them.
    max_connections: int | None = Field(default=None, ge=1, le=100_000)
    #: Connections the kernel queues before they are accepted (``listen`` backlog).
    backlog: int = Field(default=511, ge=1, le=65_535)
    max_messages_per_request: int = Field(default=1000, ge=1, le=100_000)
    dashboard_refresh_seconds: int = Field(default=5, ge=0, le=3600)
    #: Append every accepted webhook delivery to this JSON-lines file, for
    #: ``slack-batcher replay`` (no signature or token is written; docs/replay.md).
    record_path: Path | None = None

    @field_validator("api_token", mode="before")
    @classmethod
    def _blank_token_is_no_token(cls, value: object) -> object:
        """Treat an empty or whitespace token as none, and refuse a short one (never echoed)."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str):
            return value
        token = raw.strip()
        if not token:
            return None
        if len(token) < MIN_API_TOKEN_LENGTH:
            raise ValueError(
                f"too short ({len(token)} characters): use at least {MIN_API_TOKEN_LENGTH}, "
                "for example the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return SecretStr(token)

    def token(self) -> str | None:
        """Return the API token, or None when there is none (an empty one counts as none)."""
        if self.api_token is None:
            return None
        return self.api_token.get_secret_value().strip() or None


class LoggingSettings(BaseModel):
    """Log level and format of the service (the library itself only logs to its logger)."""

    model_config = _STRICT

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["text", "json"] = "text"


class _AliasEnvSource(PydanticBaseSettingsSource):
    """Reads the secrets' customary variable names (``SLACK_BOT_TOKEN`` …) into their keys."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for variable, (table, key) in ENV_ALIASES.items():
            value = os.environ.get(variable)
            if value:
                values.setdefault(table, {})[key] = value
        return values


class ServiceSettings(BaseSettings):
    """Everything ``slack-batcher serve`` needs; see the module docstring for the file format.

    Precedence: ``SLACK_BATCHER_*`` variables (nested keys with ``__``), then the
    customary secret variables, then keyword arguments (the TOML file's tables arrive as
    keyword arguments), then defaults.
    """

    model_config = SettingsConfigDict(
        env_prefix="SLACK_BATCHER_",
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    batching: BatchingTable = Field(default_factory=BatchConfig)
    store: StoreSettings = Field(default_factory=StoreSettings)
    sender: SenderSettings = Field(default_factory=SenderSettings)
    delivery: DeliveryTable = Field(default_factory=ServiceConfig)
    server: ServerSettings = Field(default_factory=ServerSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    routes: RoutesList = Field(default_factory=RouteTable)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    people: PeopleSettings = Field(default_factory=PeopleSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: the file's table (passed as init values) comes last."""
        return (env_settings, _AliasEnvSource(settings_cls), init_settings)

    @property
    def batch_config(self) -> BatchConfig:
        """The validated batching configuration."""
        return self.batching


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None


def _describe(error: Mapping[str, Any]) -> list[str]:
    """Turn one pydantic error into lines naming the dotted key; secrets are never echoed."""
    key = ".".join(str(part) for part in error["loc"]) or "config"
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigError):
        return [p if p.startswith(f"{key}[") else f"{key}.{p}" for p in cause.problems]
    if error["type"] == "extra_forbidden":
        return [f"{key}: unknown setting"]
    message = str(error["msg"]).removeprefix("Value error, ")
    return [f"{key}: {message}"]


def load_settings(path: str | Path | None = None, **overrides: Any) -> ServiceSettings:
    """Read *path* (TOML, optional) and the environment; raise ConfigError listing every problem.

    *overrides* are top-level tables that win over the file (not over the environment).
    """
    values = _read_toml(Path(path)) if path is not None else {}
    for table, settings in overrides.items():
        merged = dict(values.get(table) or {})
        merged.update(settings)
        values[table] = merged
    try:
        return ServiceSettings(**values)
    except ValidationError as exc:
        problems: list[str] = []
        for error in exc.errors(include_input=False, include_url=False):
            problems.extend(_describe(error))
        raise ConfigError(problems) from None


def check_settings(path: str | Path | None = None) -> list[str]:
    """Return every problem with the configuration at *path* plus the environment (empty: OK)."""
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        return exc.problems
    if settings.store.is_redis:
        try:
            import redis  # noqa: F401 - only whether it is installed
        except ImportError:
            return [
                f"store.url: {settings.store.display_url} needs redis-py, which is not "
                "installed: pip install 'slack-batcher[redis]'"
            ]
    return []
