"""Which delivery failures are worth retrying: Slack's error codes and HTTP answers, classified.

The policy (docs/delivery.md has it as a table):

- **Transient** — retried by the runtime with backoff, honouring ``retry_after``: HTTP 429
  (``ratelimited``), 408 and every 5xx; timeouts and connection errors; the codes
  ``ratelimited``, ``service_unavailable``, ``request_timeout``; and ``internal_error`` /
  ``fatal_error``.
- **Maybe posted** — ``internal_error``, ``fatal_error``, 5xx answers, timeouts and dropped
  connections may come after Slack stored the message. We retry them anyway: a rare
  duplicate post beats a lost notification. :func:`may_have_posted` lets the runtime count
  those retries as possible duplicates.
- **Permanent** — everything else: retrying cannot fix ``channel_not_found``,
  ``invalid_blocks``, ``msg_too_long``, … The runtime dead-letters the batch with the code.
  Unknown codes are permanent too (dead letters can be replayed; an endless retry cannot).
- **Auth** — permanent errors that are a property of the credential, not of the message or
  channel (``invalid_auth``, ``token_revoked``, ``missing_scope``, a removed webhook, …):
  every post would fail the same way, so the runtime pauses all delivery instead of
  dead-lettering everything. See :func:`is_auth_error`.
"""

from __future__ import annotations

from ..model.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

__all__ = [
    "AUTH_CODES",
    "MAYBE_POSTED_CODES",
    "PERMANENT_CODES",
    "TRANSIENT_CODES",
    "classify",
    "is_auth_error",
    "is_transient",
    "may_have_posted",
    "parse_retry_after",
]

#: Codes of our own for failures below Slack's API.
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection_error"

#: Slack error codes (and our own) that are worth retrying.
TRANSIENT_CODES = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "service_unavailable",
        "request_timeout",
        "internal_error",
        "fatal_error",
        TIMEOUT,
        CONNECTION_ERROR,
    }
)

#: Transient codes after which Slack may have stored the message already.
MAYBE_POSTED_CODES = frozenset({"internal_error", "fatal_error", TIMEOUT, CONNECTION_ERROR})

#: Permanent codes that concern the credential: the runtime pauses all delivery on them.
AUTH_CODES = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "ekm_access_denied",
        "team_access_not_granted",
        "org_login_required",
        "two_factor_setup_required",
        # incoming webhooks: the URL is the credential
        "invalid_token",
        "no_service",
        "no_service_id",
        "team_disabled",
    }
)

#: Known permanent codes (any unknown code is treated as permanent too).
PERMANENT_CODES = AUTH_CODES | frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "channel_is_archived",
        "restricted_action",
        "action_prohibited",
        "posting_to_general_channel_denied",
        "user_not_found",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_attachments",
        "invalid_payload",
        "invalid_arguments",
        "invalid_json",
        "json_not_object",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
        "thread_not_found",
        "duplicate_message_not_found",
        # chat.update: the message is gone or may not be edited (a live digest starts anew)
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)


def is_transient(code: str) -> bool:
    """Return True when a failure with this code is worth retrying.

    ``http_<status>`` codes are transient for 408, 429 and 5xx; Slack codes per the tables.
    """
    if code.startswith("http_"):
        status = code[5:]
        return status in ("408", "429") or status.startswith("5")
    return code in TRANSIENT_CODES


def is_auth_error(code: str) -> bool:
    """Return True when *code* means the credential itself is bad (pause all delivery)."""
    return code in AUTH_CODES


def may_have_posted(code: str) -> bool:
    """Return True when a failed post may have been stored by Slack (a retry may duplicate)."""
    return code in MAYBE_POSTED_CODES or (code.startswith("http_5"))


def parse_retry_after(value: object) -> float | None:
    """Return a ``Retry-After`` header's seconds (Slack sends an integer), or None."""
    if value is None:
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def classify(
    code: str | None,
    *,
    status: int = 200,
    retry_after: float | None = None,
    detail: str = "",
) -> DeliveryError:
    """Return the error to raise for a failed post.

    *code* is Slack's error code (None when the answer had none: then ``http_<status>``
    names it); *status* the HTTP status; *retry_after* the ``Retry-After`` seconds.
    """
    if status == 429 or code == "rate_limited":  # webhooks spell it with an underscore
        code = "ratelimited"
        if retry_after is None:
            retry_after = 1.0
    elif code is None or (status >= 500 and code not in TRANSIENT_CODES):
        code = f"http_{status}"
    if is_transient(code):
        return TransientDeliveryError(code, detail, retry_after)
    return PermanentDeliveryError(code, detail)
