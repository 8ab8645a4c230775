"""The route table: which channel(s) an event goes to, like Alertmanager's route tree.

Routes are ``[[routes]]`` tables in the TOML file, tried in order; the first that matches
decides, unless it says ``continue = true`` (then later routes are tried too and every
matching route's channels are used). A route's match keys must all hold; a route without
match keys catches everything. ``drop = true`` discards what it matches (counted).

Match keys — a string is a case-insensitive glob (``acme/*``), a list means any of them:
``source``, ``event``, ``action``, ``repository``, ``project``, ``severity``, ``author``,
``labels.<name>`` (a table), and ``bot`` (true / false). Targets: ``channel`` or
``channels``. Per-route batching overrides (:data:`OVERRIDE_KEYS`): ``max_batch_size``,
``max_batch_age_minutes``, ``similarity_threshold``, ``items_per_page``, the live digest
and latency settings (``docs/grouping.md``); they apply to the route's channels. When two
routes name one channel with different overrides, the first route in the file wins for that
channel (:meth:`RouteTable.warnings` says so, and ``config check`` prints it).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from ..model.config import BatchConfig
from ..model.errors import ConfigError
from ..model.people import ASKS
from ..sources.base import SourceEvent

__all__ = ["OVERRIDE_KEYS", "Route", "RouteDecision", "RouteTable", "parse_routes"]

#: Batching settings a route may override for its channels (the batcher honours them per
#: channel: ``MessageBatcher.configure_channel``), digest settings included where present.
OVERRIDE_KEYS: tuple[str, ...] = tuple(
    key
    for key in (
        "max_batch_size",
        "max_batch_age_minutes",
        "similarity_threshold",
        "items_per_page",
        "live_digests",
        "digest_by",
        "digest_window_minutes",
        "digest_max_age_minutes",
        "flush_leading",
        "window",
        "max_wait_minutes",
    )
    if key in {f.name for f in dataclasses.fields(BatchConfig)}
)
#: Sources a route may name (``api``: events posted to /v1/messages without a channel).
KNOWN_SOURCES = ("github", "jira", "alertmanager", "api")
_STRING_KEYS = ("source", "event", "action", "repository", "project", "severity", "author")
_OTHER_KEYS = {"name", "channel", "channels", "labels", "bot", "drop", "continue"}
_KNOWN_KEYS = set(_STRING_KEYS) | _OTHER_KEYS | set(OVERRIDE_KEYS) | {"mention"}


@dataclass(frozen=True, slots=True)
class Route:
    """One ``[[routes]]`` entry: what it matches, where it sends, and how to batch there."""

    index: int
    channels: tuple[str, ...] = ()
    #: Match key → lower-cased glob patterns (any may match).
    match: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bot: bool | None = None
    drop: bool = False
    continue_: bool = False
    overrides: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    #: Who the route's digests mention (``[people]`` asks); None: the ``[people]`` default.
    mention: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        """How messages name this route: ``routes[2]`` or ``routes[2] (ci)``."""
        return f"routes[{self.index}]" + (f" ({self.name})" if self.name else "")

    @property
    def catches_all(self) -> bool:
        """True when the route has no match keys."""
        return not self.match and not self.labels and self.bot is None

    def to_dict(self) -> dict[str, Any]:
        """Return the route as a ``[[routes]]`` table (patterns lower-cased)."""
        raw: dict[str, Any] = {"name": self.name} if self.name else {}
        for key, patterns in self.match.items():
            raw[key] = patterns[0] if len(patterns) == 1 else list(patterns)
        if self.labels:
            raw["labels"] = {
                name: p[0] if len(p) == 1 else list(p) for name, p in self.labels.items()
            }
        if self.bot is not None:
            raw["bot"] = self.bot
        if self.drop:
            raw["drop"] = True
        if self.channels:
            raw["channels"] = list(self.channels)
        if self.continue_:
            raw["continue"] = True
        if self.mention is not None:
            raw["mention"] = list(self.mention)
        raw.update(self.overrides)
        return raw

    def matches(self, event: SourceEvent) -> bool:
        """Return True when every match key of this route holds for *event*."""
        if self.bot is not None and event.bot != self.bot:
            return False
        for key, patterns in self.match.items():
            if not _any_glob(str(getattr(event, key)), patterns):
                return False
        for name, patterns in self.labels.items():
            value = event.labels.get(name)
            if value is None or not _any_glob(value, patterns):
                return False
        return True


def _any_glob(value: str, patterns: tuple[str, ...]) -> bool:
    lowered = value.lower()
    return any(fnmatchcase(lowered, pattern) for pattern in patterns)


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where one event goes: its channels, or dropped, or unrouted (no route matched)."""

    channels: tuple[str, ...]
    dropped: bool = False
    routes: tuple[int, ...] = ()

    @property
    def unrouted(self) -> bool:
        """True when no route matched."""
        return not self.routes


@dataclass(frozen=True, slots=True)
class RouteTable:
    """The ordered routes of a configuration."""

    routes: tuple[Route, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.routes)

    def to_list(self) -> list[dict[str, Any]]:
        """Return the routes as ``[[routes]]`` tables (:func:`parse_routes` reads them back)."""
        return [route.to_dict() for route in self.routes]

    def route(self, event: SourceEvent) -> RouteDecision:
        """Decide where *event* goes: first match wins, ``continue`` carries on, drop stops."""
        channels: list[str] = []
        matched: list[int] = []
        for route in self.routes:
            if not route.matches(event):
                continue
            matched.append(route.index)
            if route.drop:
                return RouteDecision((), dropped=True, routes=tuple(matched))
            for channel in route.channels:
                if channel not in channels:
                    channels.append(channel)
            if not route.continue_:
                break
        return RouteDecision(tuple(channels), routes=tuple(matched))

    def channel_overrides(self) -> dict[str, dict[str, Any]]:
        """Return each channel's batching overrides: the first route naming it with some wins."""
        found: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            if not route.overrides:
                continue
            for channel in route.channels:
                found.setdefault(channel, dict(route.overrides))
        return found

    def channel_mentions(self) -> dict[str, tuple[str, ...]]:
        """Return each channel's ``mention`` list: the first route naming it with one wins."""
        found: dict[str, tuple[str, ...]] = {}
        for route in self.routes:
            if route.mention is None:
                continue
            for channel in route.channels:
                found.setdefault(channel, route.mention)
        return found

    def channel_configs(self, base: BatchConfig) -> dict[str, BatchConfig]:
        """Return the per-channel BatchConfig for every channel a route overrides."""
        return {
            channel: dataclasses.replace(base, **overrides)
            for channel, overrides in self.channel_overrides().items()
        }

    def warnings(self, *, sources_enabled: bool = True) -> list[str]:
        """Return what ``config check`` should warn about (the table is valid regardless)."""
        notes: list[str] = []
        if not self.routes:
            if sources_enabled:
                notes.append(
                    "routes: no [[routes]]: events from the enabled sources go nowhere "
                    "(counted as unrouted); add a route with a channel"
                )
            return notes
        if not any(r.catches_all for r in self.routes):
            notes.append(
                "routes: no catch-all route (one without match keys): events no route "
                "matches are counted as unrouted and not posted"
            )
        first: dict[str, Route] = {}
        for route in self.routes:
            for channel in route.channels:
                earlier = first.get(channel)
                if earlier is None:
                    if route.overrides:
                        first[channel] = route
                elif route.overrides and dict(route.overrides) != dict(earlier.overrides):
                    notes.append(
                        f"{route.label}: channel {channel!r} already has batching overrides "
                        f"from {earlier.label}; the first route's apply to the channel"
                    )
        return notes


def _patterns(value: object, key: str, problems: list[str]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        problems.append(f"{key}: expected a non-empty string or a list of them")
        return ()
    return tuple(str(item).strip().lower() for item in items)


def _channels(raw: Mapping[str, Any], prefix: str, problems: list[str]) -> tuple[str, ...]:
    if "channel" in raw and "channels" in raw:
        problems.append(f"{prefix}.channels: give channel or channels, not both")
        return ()
    key = "channel" if "channel" in raw else "channels"
    value = raw.get(key)
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    channels: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip() or "/" in item or len(item) > 255:
            problems.append(
                f"{prefix}.{key}: expected a Slack channel id or name (no '/'), got {item!r}"
            )
            continue
        channels.append(item.strip())
    if not channels and not problems:
        problems.append(f"{prefix}.{key}: name at least one channel")
    return tuple(channels)


def _overrides(raw: Mapping[str, Any], prefix: str, problems: list[str]) -> dict[str, Any]:
    overrides = {key: raw[key] for key in OVERRIDE_KEYS if key in raw}
    if overrides:
        try:
            BatchConfig.from_dict(overrides)
        except ConfigError as exc:
            problems.extend(f"{prefix}.{problem}" for problem in exc.problems)
            return {}
    return overrides


def _match_keys(
    raw: Mapping[str, Any], prefix: str, problems: list[str]
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    match: dict[str, tuple[str, ...]] = {}
    for key in _STRING_KEYS:
        if key in raw:
            match[key] = _patterns(raw[key], f"{prefix}.{key}", problems)
    for source in match.get("source", ()):
        if not any(fnmatchcase(known, source) for known in KNOWN_SOURCES):
            problems.append(
                f"{prefix}.source: {source!r} matches no source (known: {', '.join(KNOWN_SOURCES)})"
            )
    labels: dict[str, tuple[str, ...]] = {}
    raw_labels = raw.get("labels", {})
    if not isinstance(raw_labels, dict):
        problems.append(f"{prefix}.labels: expected a table of label = pattern")
    else:
        for name, value in raw_labels.items():
            labels[str(name)] = _patterns(value, f"{prefix}.labels.{name}", problems)
    return match, labels


def _mention(raw: Mapping[str, Any], prefix: str, problems: list[str]) -> tuple[str, ...] | None:
    if "mention" not in raw:
        return None
    value = raw["mention"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{prefix}.mention: expected a list of {', '.join(ASKS)}")
        return None
    unknown = [v for v in value if v not in ASKS]
    if unknown:
        problems.append(f"{prefix}.mention: unknown {unknown}; each one of {', '.join(ASKS)}")
    return tuple(value)


def _parse_route(index: int, raw: object, problems: list[str]) -> Route | None:
    prefix = f"routes[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{prefix}: expected a table, got {type(raw).__name__}")
        return None
    before = len(problems)
    problems.extend(f"{prefix}.{key}: unknown setting" for key in raw if key not in _KNOWN_KEYS)
    match, labels = _match_keys(raw, prefix, problems)
    flags: dict[str, bool] = {}
    for key in ("bot", "drop", "continue"):
        if key in raw and not isinstance(raw[key], bool):
            problems.append(f"{prefix}.{key}: must be true or false, got {raw[key]!r}")
        flags[key] = raw.get(key) is True
    channels = _channels(raw, prefix, problems)
    overrides = _overrides(raw, prefix, problems)
    mention = _mention(raw, prefix, problems)
    if flags["drop"] and (channels or overrides or flags["continue"]):
        problems.append(f"{prefix}.drop: a dropping route takes no channel, overrides or continue")
    elif not flags["drop"] and not channels and "channel" not in raw and "channels" not in raw:
        problems.append(f"{prefix}.channel: required (or drop = true)")
    name = raw.get("name", "")
    if not isinstance(name, str):
        problems.append(f"{prefix}.name: expected a string")
        name = ""
    if len(problems) > before:
        return None
    return Route(
        index=index,
        channels=channels,
        match=match,
        labels=labels,
        bot=raw["bot"] if isinstance(raw.get("bot"), bool) else None,
        drop=flags["drop"],
        continue_=flags["continue"],
        overrides=overrides,
        name=name,
        mention=mention,
    )


def parse_routes(raw: object) -> RouteTable:
    """Build the table from the TOML's ``[[routes]]`` list (or its JSON text, from the env).

    Raises :class:`ConfigError` naming every bad key (``routes[2].channel: …``).
    """
    if isinstance(raw, RouteTable):
        return raw
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ConfigError([f"routes: not a JSON list of routes: {exc}"]) from None
    if raw is None:
        return RouteTable()
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise ConfigError(
            [f"routes: expected a list of [[routes]] tables, got {type(raw).__name__}"]
        )
    problems: list[str] = []
    routes = [_parse_route(index, item, problems) for index, item in enumerate(raw)]
    if problems:
        raise ConfigError(problems)
    return RouteTable(tuple(route for route in routes if route is not None))
