"""The asyncio runtime: :class:`BatchingService` and its :class:`ServiceConfig`.

See ``docs/runtime.md`` for the design: the deadline timer, per-channel delivery, pacing,
retries, threads and graceful shutdown.
"""

from .config import ServiceConfig
from .service import BatchingService, ServiceClosedError

__all__ = ["BatchingService", "ServiceClosedError", "ServiceConfig"]
