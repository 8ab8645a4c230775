"""The data contract: what each content type's formatter reads from ``BatchableMessage.data``.

An item formatter turns one message into an :class:`ItemView`: raw (unescaped) title, link,
label, status and scope; for a single post also a short description and detail fields.
Every key is optional; a missing or oddly typed value is skipped, and a title falls back to
the message id, so a partial payload never raises. The keys are documented in
``docs/formatting.md``; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..model.message import BatchableMessage, ContentType
from .escape import MAX_LINK_URL, is_http_url, is_plain_link_url
from .options import FormatOptions

__all__ = [
    "DEFAULT_ITEM_FORMATTERS",
    "KINDS",
    "AlertFormatter",
    "BlockerFormatter",
    "CIBuildFormatter",
    "ContentFormatter",
    "DeploymentFormatter",
    "GenericFormatter",
    "ItemFormatter",
    "ItemView",
    "JiraFormatter",
    "Kind",
    "PullRequestFormatter",
    "StandupFormatter",
    "details_of",
    "text_of",
]

#: Raw values are cut to this many characters before any further work.
_RAW_LIMIT = 3000


class Kind(NamedTuple):
    """How a content type is named and linked: counts, group titles, emoji, URL source."""

    noun: str
    plural: str
    group: str
    emoji: str
    source: str


KINDS: dict[ContentType, Kind] = {
    ContentType.PR_UPDATE: Kind(
        "PR update", "PR updates", "Pull requests", ":twisted_rightwards_arrows:", "github"
    ),
    ContentType.JIRA_UPDATE: Kind("JIRA update", "JIRA updates", "JIRA", ":ticket:", "jira"),
    ContentType.ALERT: Kind("alert", "alerts", "Alerts", ":rotating_light:", "alerts"),
    ContentType.DEPLOYMENT: Kind("deployment", "deployments", "Deployments", ":rocket:", "deploy"),
    ContentType.CI_BUILD: Kind("CI build", "CI builds", "CI builds", ":gear:", "ci"),
    ContentType.STANDUP: Kind("standup", "standups", "Standups", ":spiral_note_pad:", "standup"),
    ContentType.BLOCKER: Kind("blocker", "blockers", "Blockers", ":construction:", "blockers"),
    ContentType.GENERIC: Kind("update", "updates", "Other updates", ":bell:", "links"),
}


@dataclass(slots=True)
class ItemView:
    """One event, ready to render: every string raw (the renderers escape and cut them)."""

    title: str
    url: str | None = None
    label: str = ""
    status: str = ""
    scope: str = ""
    detail: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    #: Where an authorless event happened (an alert's instance): lines show it in the
    #: author's place.
    place: str = ""


#: Turns one message into its view; register your own per content type on the factory.
ItemFormatter = Callable[[BatchableMessage, FormatOptions], ItemView]


def text_of(value: object) -> str:
    """Return a scalar (or a list of scalars) as stripped text; anything else as ``""``."""
    if isinstance(value, str):
        return value[:_RAW_LIMIT].strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list | tuple):
        parts = [text_of(v) for v in value[:20] if not isinstance(v, list | tuple | dict)]
        return "; ".join(p for p in parts if p)[:_RAW_LIMIT]
    return ""


def _get(data: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        kind = type(value)
        if kind is str:
            text: str = value.strip() if len(value) <= _RAW_LIMIT else value[:_RAW_LIMIT].strip()
        elif kind is int:
            text = str(value)
        else:
            text = text_of(value)
        if text:
            return text
    return ""


def _get1(data: Mapping[str, Any], key: str) -> str:
    """``_get(data, key)`` for one key, with the common case (a short string) first."""
    value = data.get(key)
    if type(value) is str and len(value) <= _RAW_LIMIT:
        return value.strip()
    return "" if value is None else _get(data, key)


def _words(text: str) -> str:
    """Return ``review_requested`` as ``review requested``."""
    return text.replace("_", " ") if "_" in text else text


def _url(
    data: Mapping[str, Any], options: FormatOptions, source: str, built: str = ""
) -> str | None:
    """Return the event's http(s) URL; a relative one, or *built*, joined to the source's base."""
    raw = data.get("url")
    if isinstance(raw, str):
        if is_http_url(raw, MAX_LINK_URL):
            return raw
        if raw.startswith("/"):
            built = raw
    if built and options.base_urls:
        joined = options.url_for(source, built)
        if joined is not None and is_http_url(joined, MAX_LINK_URL):
            return joined
    return None


def _fields(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(pair for pair in pairs if pair[1])


Details = tuple[str, tuple[tuple[str, str], ...]]


class ContentFormatter:
    """Base of the built-in item formatters: one per content type.

    ``__call__`` reads what an item line needs (title, link, label, status, scope);
    :meth:`details` reads the description and detail fields, and runs only for a single
    post, which keeps multi-item messages cheap. A plain function ``(message, options) -> ItemView``
    works as an item formatter too: it fills ``detail``/``fields`` itself if it wants them.
    """

    def __call__(self, message: BatchableMessage, options: FormatOptions) -> ItemView:
        """Return the view of *message* (title falls back to the message id)."""
        return ItemView(title=_get(message.data, "title") or message.id)

    def details(self, message: BatchableMessage, options: FormatOptions) -> Details:
        """Return (description, detail fields) for a single post of *message*."""
        return "", ()


class PullRequestFormatter(ContentFormatter):
    """PR: repository, number, title, action/state/status, url; head/base, reviewer, labels."""

    def __call__(self, message: BatchableMessage, options: FormatOptions) -> ItemView:
        """Return the view of a PR event."""
        # Each _get inlined for its common case (the first key holds a short string, or an
        # int number): this runs for every PR of every multi-item message.
        data = message.data
        value = data.get("repository")
        repo = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
        if not repo:
            repo = _get(data, "repository", "repo")
        value = data.get("number")
        number = str(value) if type(value) is int else _get(data, "number", "pr_number").lstrip("#")
        value = data.get("title")
        title = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
        value = data.get("action")
        status = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
        if not status:
            status = _get(data, "action", "state", "status")
        url = data.get("url")
        if not is_plain_link_url(url):
            built = f"{repo}/pull/{number}" if repo and number else ""
            url = _url(data, options, "github", built)
        return ItemView(  # positional: title, url, label, status, scope
            title or _get(data, "title") or message.id,
            url,
            f"#{number}" if number else "",
            status.replace("_", " ") if "_" in status else status,
            repo,
        )

    def details(self, message: BatchableMessage, options: FormatOptions) -> Details:
        """Return the description and Repository/Action/Branch/Reviewer/Labels fields."""
        data = message.data
        head, base = _get(data, "head", "branch"), _get(data, "base")
        branch = f"{head} → {base}" if head and base else head or base
        return _get(data, "description", "body"), _fields(
            ("Repository", _get(data, "repository", "repo")),
            ("Action", _words(_get(data, "action", "state", "status"))),
            ("Branch", branch),
            ("Reviewer", _get(data, "reviewer", "reviewers")),
            ("Labels", _get(data, "labels")),
        )


class JiraFormatter(ContentFormatter):
    """JIRA: key, summary/title, status, previous_status, url, project; type, assignee."""

    def __call__(self, message: BatchableMessage, options: FormatOptions) -> ItemView:
        """Return the view of a JIRA update."""
        data = message.data  # the common cases inlined, as in PullRequestFormatter
        value = data.get("key")
        key = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
        if not key:
            key = _get(data, "key", "issue_key", "ticket")
        value = data.get("summary")
        title = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
        if not title:
            title = _get(data, "summary", "title")
        url = data.get("url")
        if not is_plain_link_url(url):
            url = _url(data, options, "jira", f"browse/{key}" if key else "")
        return ItemView(  # positional: title, url, label, status, scope
            title or message.id, url, key, _jira_status(data), _get1(data, "project")
        )

    def details(self, message: BatchableMessage, options: FormatOptions) -> Details:
        """Return the description and Project/Status/Type/Assignee fields."""
        data = message.data
        return _get(data, "description"), _fields(
            ("Project", _get(data, "project")),
            ("Status", _jira_status(data)),
            ("Type", _get(data, "issue_type", "type")),
            ("Assignee", _get(data, "assignee")),
        )


def _jira_status(data: Mapping[str, Any]) -> str:
    status = _get1(data, "status")
    previous = _get(data, "previous_status", "from_status")
    if previous and status and previous != status:
        return f"{previous} → {status}"
    return status


class AlertFormatter(ContentFormatter):
    """Alert: alertname/alert_name/name/title, status, severity, service, instance, url."""

    def __call__(self, message: BatchableMessage, options: FormatOptions) -> ItemView:
        """Return the view of an alert."""
        data = message.data  # the common cases inlined, as in PullRequestFormatter
        severity = _get1(data, "severity")
        state = _get(data, "status", "state")
        value = data.get("alertname")
        title = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
        if not title:
            title = _get(data, "alertname", "alert_name", "name", "title")
        value = data.get("service")
        scope = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
        if not scope:
            scope = _get(data, "service", "team", "project", "repository")
        url = data.get("url")
        if not is_plain_link_url(url):
            url = _url(data, options, "alerts")
        return ItemView(  # positional: title, url, label, status, scope, detail, fields, place
            title or message.id,
            url,
            "",
            f"{state} ({severity})" if state and severity else state or severity,
            scope,
            "",
            (),
            _get(data, "instance", "host", "hostname", "pod", "node"),
        )

    def details(self, message: BatchableMessage, options: FormatOptions) -> Details:
        """Return the description and Severity/Status/Service/Value fields."""
        data = message.data
        return _get(data, "description", "summary", "message"), _fields(
            ("Severity", _get(data, "severity")),
            ("Status", _get(data, "status", "state")),
            ("Service", _get(data, "service", "team", "project", "repository")),
            ("Instance", _get(data, "instance", "host", "hostname", "pod", "node")),
            ("Value", _get(data, "value")),
        )


class DeploymentFormatter(ContentFormatter):
    """Deployment: service, version, environment, status, url; description."""

    def __call__(self, message: BatchableMessage, options: FormatOptions) -> ItemView:
        """Return the view of a deployment ("api 1.4.2 to production")."""
        data = message.data
        service = _get(data, "service", "application", "app")
        version = _get(data, "version", "tag", "sha")
        environment = _get(data, "environment", "env")
        title = f"{service} {version}" if service and version else service or version
        if environment:
            title = f"{title} to {environment}" if title else f"deploy to {environment}"
        return ItemView(
            title=title or _get(data, "title") or message.id,
            url=_url(data, options, "deploy"),
            status=_get(data, "status", "state"),
            scope=service,
        )

    def details(self, message: BatchableMessage, options: FormatOptions) -> Details:
        """Return the description and Service/Version/Environment/Status fields."""
        data = message.data
        return _get(data, "description", "message", "changelog"), _fields(
            ("Service", _get(data, "service", "application", "app")),
            ("Version", _get(data, "version", "tag", "sha")),
            ("Environment", _get(data, "environment", "env")),
            ("Status", _get(data, "status", "state")),
        )


class CIBuildFormatter(ContentFormatter):
    """CI build: pipeline/workflow/job, build, branch, status, repository, url; commit."""

    def __call__(self, message: BatchableMessage, options: FormatOptions) -> ItemView:
        """Return the view of a CI build ("#812 tests on main")."""
        data = message.data
        pipeline = _get(data, "pipeline", "workflow", "job", "name")
        branch = _get(data, "branch", "ref")
        build = _get(data, "build", "build_number", "run_number").lstrip("#")
        title = f"{pipeline} on {branch}" if pipeline and branch else pipeline or branch
        return ItemView(
            title=title or _get(data, "title") or message.id,
            url=_url(data, options, "ci"),
            label=f"#{build}" if build else "",
            status=_get(data, "status", "conclusion", "state"),
            scope=_get(data, "repository", "repo"),
        )

    def details(self, message: BatchableMessage, options: FormatOptions) -> Details:
        """Return the description and Repository/Branch/Status/Commit fields."""
        data = message.data
        return _get(data, "description", "message"), _fields(
            ("Repository", _get(data, "repository", "repo")),
            ("Branch", _get(data, "branch", "ref")),
            ("Status", _get(data, "status", "conclusion", "state")),
            ("Commit", _get(data, "commit", "sha")[:12]),
        )


class StandupFormatter(ContentFormatter):
    """Standup: summary/title/today, blockers, team, url; yesterday, today."""

    def __call__(self, message: BatchableMessage, options: FormatOptions) -> ItemView:
        """Return the view of a standup update ("blocked" when it lists blockers)."""
        data = message.data
        blockers = _get(data, "blockers")
        blocked = bool(blockers) and blockers.lower() not in ("none", "no", "-", "n/a")
        return ItemView(
            title=_get(data, "summary", "title", "today") or message.id,
            url=_url(data, options, "standup"),
            status="blocked" if blocked else "",
            scope=_get(data, "team", "project"),
        )

    def details(self, message: BatchableMessage, options: FormatOptions) -> Details:
        """Return the Yesterday/Today/Blockers fields."""
        data = message.data
        return "", _fields(
            ("Yesterday", _get(data, "yesterday")),
            ("Today", _get(data, "today")),
            ("Blockers", _get(data, "blockers")),
        )


class BlockerFormatter(ContentFormatter):
    """Blocker: title/summary, key, status (default "blocked"), url; blocked_by, owner, impact."""

    def __call__(self, message: BatchableMessage, options: FormatOptions) -> ItemView:
        """Return the view of a blocker."""
        data = message.data
        return ItemView(
            title=_get(data, "title", "summary") or message.id,
            url=_url(data, options, "blockers"),
            label=_get(data, "key", "ticket"),
            status=_get(data, "status") or "blocked",
            scope=_get(data, "repository", "project", "team", "service"),
        )

    def details(self, message: BatchableMessage, options: FormatOptions) -> Details:
        """Return the description and Blocked by/Owner/Impact fields."""
        data = message.data
        return _get(data, "description"), _fields(
            ("Blocked by", _get(data, "blocked_by")),
            ("Owner", _get(data, "owner", "assignee")),
            ("Impact", _get(data, "impact")),
        )


class GenericFormatter(ContentFormatter):
    """Generic: title/summary/name/text/message, status, url; description."""

    def __call__(self, message: BatchableMessage, options: FormatOptions) -> ItemView:
        """Return the view of a generic event."""
        data = message.data
        return ItemView(
            title=_get(data, "title", "summary", "name", "text", "message") or message.id,
            url=_url(data, options, "links"),
            status=_get(data, "status"),
            scope=_get(data, "repository", "project", "team", "service"),
        )

    def details(self, message: BatchableMessage, options: FormatOptions) -> Details:
        """Return the description."""
        return _get(message.data, "description", "body"), ()


def details_of(
    formatter: ItemFormatter, view: ItemView, message: BatchableMessage, options: FormatOptions
) -> Details:
    """Return (description, fields) for a single post: the view's own, else ``details()``."""
    if view.detail or view.fields:
        return view.detail, view.fields
    details = getattr(formatter, "details", None)
    if callable(details):
        detail, fields = details(message, options)
        return str(detail), tuple(fields)
    return "", ()


DEFAULT_ITEM_FORMATTERS: dict[ContentType, ItemFormatter] = {
    ContentType.PR_UPDATE: PullRequestFormatter(),
    ContentType.JIRA_UPDATE: JiraFormatter(),
    ContentType.ALERT: AlertFormatter(),
    ContentType.DEPLOYMENT: DeploymentFormatter(),
    ContentType.CI_BUILD: CIBuildFormatter(),
    ContentType.STANDUP: StandupFormatter(),
    ContentType.BLOCKER: BlockerFormatter(),
    ContentType.GENERIC: GenericFormatter(),
}
