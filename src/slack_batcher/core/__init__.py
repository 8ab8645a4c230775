"""The engine: :class:`~slack_batcher.core.batcher.MessageBatcher` and the parts it owns.

Grouping, deadlines, flushing, the outbox, dead letters, stats and health. It does no I/O of
its own: the store and the formatter are handed in. See docs/architecture.md.
"""
