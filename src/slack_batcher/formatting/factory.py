"""SlackMessageFormatterFactory: routes a batch to the formatter for its message type.

The built-in routes: a batch of one goes to the single-event layout; PR_BATCH, JIRA_BATCH
and DIGEST go to the multi-item layout (each item rendered by its content type's item
formatter). ``register()`` replaces the formatter of a message type, ``register_item()``
the item formatter of a content type. Every message a formatter returns is checked with
:func:`validate_message`; a formatter that raises or returns an invalid message makes
``format_batch`` raise :class:`~slack_batcher.model.errors.FormatterError`, and the batcher then
falls back to the plain formatter (see ``docs/formatting.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ..model.batch import BatchGroup
from ..model.errors import FormatterError
from ..model.message import BatchableMessage, BatchType, ContentType
from .context import BatchFormatterContext, MessageType
from .items import DEFAULT_ITEM_FORMATTERS, ItemFormatter
from .message import SlackMessage
from .multi import format_multi
from .options import FormatOptions
from .single import format_single
from .validate import validate_message

__all__ = ["MessageFormatter", "SlackMessageFormatterFactory"]

logger = logging.getLogger(__name__)

#: A message-level formatter: the batch's context and the channel's options in, a message out.
MessageFormatter = Callable[[BatchFormatterContext, FormatOptions], SlackMessage]

_MULTI_TYPES = (MessageType.PR_BATCH, MessageType.JIRA_BATCH, MessageType.DIGEST)


class _Builtin:
    """A built-in layout bound to the factory's item formatters."""

    __slots__ = ("__name__", "_items", "_layout")

    def __init__(
        self,
        name: str,
        layout: Callable[
            [BatchFormatterContext, FormatOptions, Mapping[ContentType, ItemFormatter]],
            SlackMessage,
        ],
        items: Mapping[ContentType, ItemFormatter],
    ) -> None:
        self.__name__ = name
        self._layout = layout
        self._items = items

    def __call__(self, context: BatchFormatterContext, options: FormatOptions) -> SlackMessage:
        return self._layout(context, options, self._items)


class SlackMessageFormatterFactory:
    """Turns batches (and single events) into Slack messages.

    *options* are the defaults; *channel_options* override them per channel id (use the
    same options object for every channel of a team). Both can be changed later with
    :meth:`set_options` and :meth:`set_channel_options`.
    """

    options: FormatOptions
    _channel_options: dict[str, FormatOptions]
    _items: dict[ContentType, ItemFormatter]
    _custom_items: bool
    _routes: dict[MessageType, tuple[str, MessageFormatter]]

    def __new__(cls, *args: Any, **kwargs: Any) -> SlackMessageFormatterFactory:
        """Build the default routes and item formatters before any ``__init__`` runs.

        So a subclass whose ``__init__`` does not call ``super().__init__()`` still works
        (with the default options), as the seed's factory did.
        """
        self = super().__new__(cls)
        self.options = FormatOptions()
        self._channel_options = {}
        self._items = dict(DEFAULT_ITEM_FORMATTERS)
        #: True once register_item() replaced a built-in item formatter.
        self._custom_items = False
        single = _Builtin("single", format_single, self._items)
        # The label stays "digest", the seed's MessageType.DIGEST: it is read in metadata.
        multi = _Builtin("digest", format_multi, self._items)
        self._routes = {
            kind: ("digest", multi) if kind in _MULTI_TYPES else ("single", single)
            for kind in MessageType
        }
        return self

    def __init__(
        self,
        options: FormatOptions | None = None,
        *,
        channel_options: Mapping[str, FormatOptions] | None = None,
    ) -> None:
        if options is not None:
            self.options = options
        self._channel_options = dict(channel_options or {})

    # ----------------------------------------------------------- configuration

    def register(
        self, message_type: MessageType | str, formatter: MessageFormatter, *, name: str = ""
    ) -> None:
        """Route *message_type* to *formatter* (``formatter(context, options) -> SlackMessage``).

        *name* (default: the formatter's ``__name__``) is recorded in message metadata as
        ``formatter``. An unknown message type raises ValueError naming the known ones.
        """
        kind = _message_type(message_type)
        if not callable(formatter):
            raise TypeError(f"formatter for {kind.value} must be callable, got {formatter!r}")
        label = name or getattr(formatter, "__name__", "") or type(formatter).__name__
        self._routes[kind] = (label, formatter)

    def register_item(self, content_type: ContentType | str, formatter: ItemFormatter) -> None:
        """Use *formatter* (``formatter(message, options) -> ItemView``) for *content_type*.

        It renders that type's events everywhere: single posts and multi-item lines alike.
        """
        kind = content_type if isinstance(content_type, ContentType) else ContentType(content_type)
        if not callable(formatter):
            raise TypeError(f"item formatter for {kind.value} must be callable")
        self._items[kind] = formatter
        self._custom_items = self._items != DEFAULT_ITEM_FORMATTERS

    def formatter_for(self, message_type: MessageType | str) -> tuple[str, MessageFormatter]:
        """Return the (name, formatter) that *message_type* is routed to."""
        return self._routes[_message_type(message_type)]

    def set_options(self, options: FormatOptions) -> None:
        """Replace the default options."""
        self.options = options

    def set_channel_options(self, channel_id: str, options: FormatOptions | None) -> None:
        """Set *channel_id*'s options; ``None`` returns the channel to the defaults."""
        if options is None:
            self._channel_options.pop(channel_id, None)
        else:
            self._channel_options[channel_id] = options

    @property
    def item_formatters(self) -> Mapping[ContentType, ItemFormatter]:
        """The item formatter of each content type (read-only; see :meth:`register_item`)."""
        return MappingProxyType(self._items)

    def options_for(self, channel_id: str) -> FormatOptions:
        """Return the options in force for *channel_id*."""
        return self._channel_options.get(channel_id, self.options)

    # -------------------------------------------------------------- formatting

    def format_batch(self, context: BatchFormatterContext) -> SlackMessage:
        """Render the batch in *context* as one SlackMessage (with continuation pages).

        Raises :class:`FormatterError` when the routed formatter raises or returns a message
        that fails :func:`validate_message`.
        """
        if not context.batch_group.messages:
            raise FormatterError(f"batch {context.batch_group.id} has no messages to format")
        kind = context.get_message_type()
        name, formatter = self._routes[kind]
        options = self._channel_options.get(context.channel_id, self.options)
        if context.options:
            options = options.replace(**context.options)
        try:
            if type(formatter) is _Builtin:  # the layout itself, one call fewer
                message = formatter._layout(context, options, formatter._items)
            else:
                message = formatter(context, options)
        except Exception as exc:
            raise FormatterError(
                f"formatter {name!r} ({kind.value}) raised {type(exc).__name__}: {exc}"
            ) from exc
        # The built-in layouts with the built-in item formatters stay within Slack's limits
        # by construction (every text cut, pages split; the tests validate their output):
        # only the output of registered formatters is checked here.
        trusted = type(formatter) is _Builtin and not self._custom_items
        problems = [] if trusted else validate_message(message)
        if problems:
            shown = "; ".join(problems[:5])
            more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
            raise FormatterError(
                f"formatter {name!r} ({kind.value}) returned an invalid message: {shown}{more}"
            )
        message.metadata["formatter"] = name
        message.metadata["message_type"] = str(kind)  # a StrEnum: its value, no descriptor
        return message

    def format_message(
        self, message: BatchableMessage, *, channel_id: str = "default"
    ) -> SlackMessage:
        """Render one event on its own, as the batcher would render a batch of one."""
        batch = BatchGroup(
            id=f"single_{message.id}",
            channel_id=channel_id,
            batch_type=BatchType.for_content_type(message.content_type),
            created_at=message.timestamp,
            expires_at=message.timestamp,
            messages=[message],
        )
        return self.format_batch(BatchFormatterContext.from_batch(batch, formatter_factory=self))

    def format(
        self,
        subject: BatchFormatterContext | BatchGroup | BatchableMessage,
        *,
        channel_id: str | None = None,
        **context_options: Any,
    ) -> SlackMessage:
        """Render an event, a batch, or a prepared context.

        *context_options* (``priority_ordering``, ``enable_pagination``, ``items_per_page``)
        apply when *subject* is a BatchGroup.
        """
        if isinstance(subject, BatchFormatterContext):
            return self.format_batch(subject)
        if isinstance(subject, BatchableMessage):
            return self.format_message(subject, channel_id=channel_id or "default")
        if isinstance(subject, BatchGroup):
            context = BatchFormatterContext.from_batch(
                subject, formatter_factory=self, **context_options
            )
            if channel_id is not None:
                context.channel_id = channel_id
            return self.format_batch(context)
        raise TypeError(f"cannot format {type(subject).__name__}")


def _message_type(value: MessageType | str) -> MessageType:
    if isinstance(value, MessageType):
        return value
    try:
        return MessageType(str(value).lower())
    except ValueError:
        known = ", ".join(kind.value for kind in MessageType)
        raise ValueError(f"message_type: unknown {value!r} (known: {known})") from None
