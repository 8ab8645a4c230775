"""Naming the store a batcher uses, for the dashboard, the CLI and the logs (no secrets)."""

from __future__ import annotations

from .base import BatchStore

__all__ = ["describe_store"]


def describe_store(store: BatchStore) -> str:
    """Return what *store* is and where its state lives, e.g. ``SQLiteStore /var/lib/x.db``.

    A store with a ``describe()`` method (Redis: URL without password, key prefix) says it
    itself; otherwise the class name and the ``path`` attribute, if any, or whether it is
    durable.
    """
    describe = getattr(store, "describe", None)
    if callable(describe):
        return str(describe())
    name = type(store).__name__
    path = getattr(store, "path", None)
    if path is not None:
        return f"{name} {path}"
    return f"{name} ({'durable' if store.durable else 'not durable: lost when the process ends'})"
