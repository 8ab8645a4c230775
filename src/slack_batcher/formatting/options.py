"""FormatOptions: how a channel (or team) wants its messages to look."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..model.errors import ConfigError
from .escape import is_http_url

__all__ = ["FormatOptions"]

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def _frozen(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, slots=True)
class FormatOptions:
    """Rendering options for one channel; the factory holds a default and per-channel ones.

    - ``compact``: multi-item lines drop author and time; single events drop the field grid.
    - ``emoji``: type and priority emoji (``:red_circle:``); off, priorities read
      ``[CRITICAL]`` / ``[HIGH]``.
    - ``base_urls``: per source (``"github"``, ``"jira"``), used to build a link when an
      event has no ``url`` or a relative one (see ``docs/formatting.md``).
    - ``user_ids``: author name → Slack user id (``U…``/``W…``). The only way a mention
      (``<@U…>``) ever appears in output.
    - ``max_items_in_text``: how many items the plain fallback text lists.
    - ``fold_repeats``: in a multi-item post, repeats collapse into one line ("×4") and an entity's
      events into one line with its path ("firing → resolved"); off: one line per event.
    """

    compact: bool = False
    emoji: bool = True
    base_urls: Mapping[str, str] = field(default_factory=dict)
    user_ids: Mapping[str, str] = field(default_factory=dict)
    max_items_in_text: int = 5
    fold_repeats: bool = True

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name in ("compact", "emoji", "fold_repeats"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name}: must be true or false, got {getattr(self, name)!r}")
        for source, url in dict(self.base_urls).items():
            if not is_http_url(url, 500):
                problems.append(f"base_urls[{source!r}]: not an http(s) URL: {url!r}")
        for author, user_id in dict(self.user_ids).items():
            if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
                problems.append(f"user_ids[{author!r}]: not a Slack user id: {user_id!r}")
        count = self.max_items_in_text
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 20:
            problems.append(f"max_items_in_text: must be 1 to 20, got {count!r}")
        if problems:
            raise ConfigError(problems)
        base = {k: str(v).rstrip("/") for k, v in dict(self.base_urls).items()}
        object.__setattr__(self, "base_urls", _frozen(base))
        object.__setattr__(self, "user_ids", _frozen(self.user_ids))

    def replace(self, **changes: Any) -> FormatOptions:
        """Return a copy with *changes*; an unknown option raises ConfigError naming it."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError([f"{name}: unknown format option" for name in unknown])
        return dataclasses.replace(self, **changes)

    def url_for(self, source: str, path: str) -> str | None:
        """Return ``base_urls[source] + path`` when that source has a base URL."""
        base = self.base_urls.get(source)
        if base is None:
            return None
        return f"{base}/{path.lstrip('/')}"
