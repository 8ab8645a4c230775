"""One exception hierarchy for slack-batcher; every class says in one line what went wrong."""

from __future__ import annotations

__all__ = [
    "BatchNotFoundError",
    "ConfigError",
    "DeliveryError",
    "FormatterError",
    "InvalidMessageError",
    "LeaseLostError",
    "MessageTooLargeError",
    "PermanentDeliveryError",
    "SchemaVersionError",
    "SlackBatcherError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "TransientDeliveryError",
]


class SlackBatcherError(Exception):
    """Base class of every error slack-batcher raises on purpose."""


class InvalidMessageError(SlackBatcherError, ValueError):
    """A message was rejected at the edge; ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class MessageTooLargeError(InvalidMessageError):
    """A message's data is larger than the configured limit."""


class ConfigError(SlackBatcherError, ValueError):
    """A configuration is invalid; ``problems`` lists every problem found, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration: " + "; ".join(self.problems))


class BatchNotFoundError(SlackBatcherError, KeyError):
    """No pending batch, outbox entry or dead letter has that id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


class FormatterError(SlackBatcherError):
    """A formatter raised or produced a message that breaks Slack's limits."""


class StoreError(SlackBatcherError):
    """The batch store failed to read or write its state."""


class LeaseLostError(StoreError):
    """Another instance took over work whose lease this one let run out (a shared store)."""


class StoreFullError(StoreError):
    """The store cannot write: its disk (or the process's file size limit) is full."""


class StoreCorruptError(StoreError):
    """The store's file exists but cannot be read as a slack-batcher store."""


class SchemaVersionError(StoreError):
    """The store was written by a newer (or unknown) schema version."""


class DeliveryError(SlackBatcherError):
    """Posting a message to Slack failed; ``code`` is Slack's error code or HTTP status."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


class TransientDeliveryError(DeliveryError):
    """A delivery failure worth retrying (rate limited, 5xx, timeout, connection)."""

    def __init__(self, code: str, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(code, detail)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """A delivery failure that retrying cannot fix (channel_not_found, invalid_blocks, …)."""
