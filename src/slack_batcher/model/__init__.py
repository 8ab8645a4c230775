"""The vocabulary every layer speaks: messages, batches, configuration, time, errors, stats.

Nothing here does I/O or batching; formatting, the stores, the sources and the engine
(:mod:`slack_batcher.core`) all build on these types. See docs/architecture.md.
"""
