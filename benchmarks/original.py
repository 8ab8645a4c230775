"""Run the original DevSync batcher beside ours, when ``DEVSYNC_ORIGINAL`` points at it.

The original (``asakohayase/kiro-devsync-ai``, ``devsync_ai/core/message_batcher.py``) is
not part of this project: extract it anywhere outside the tree and set
``DEVSYNC_ORIGINAL=<dir>`` (the directory holding ``devsync_ai/``). Without the variable
the benchmarks print our figures only. Nothing here copies its code: it is imported.
"""

from __future__ import annotations

import importlib
import os
import sys
from datetime import datetime
from types import ModuleType
from typing import Any

from benchmarks.workload import T0
from slack_batcher import BatchableMessage

__all__ = ["load", "original_kwargs"]


def load(*, quiet: bool = False) -> ModuleType | None:
    """Import the original's ``message_batcher`` module, or None when not configured.

    *quiet* raises its logger to WARNING: it logs every flush at INFO, which a timing loop
    would measure.
    """
    root = os.environ.get("DEVSYNC_ORIGINAL")
    if not root:
        return None
    if not os.path.isdir(os.path.join(root, "devsync_ai")):
        print(f"DEVSYNC_ORIGINAL={root}: no devsync_ai/ there; printing our figures only")
        return None
    if root not in sys.path:
        sys.path.insert(0, root)
    module = importlib.import_module("devsync_ai.core.message_batcher")
    if quiet:
        module.logging.getLogger(module.__name__).setLevel(module.logging.WARNING)
    return module


def original_kwargs(
    module: ModuleType, message: BatchableMessage, start: datetime
) -> dict[str, Any]:
    """Return the original's ``BatchableMessage`` arguments for one of our messages.

    Its windows run on naive local wall-clock time (``datetime.now()``), so timestamps keep
    their spacing but start at *start* (naive, now): nothing falls due by wall clock during
    a run, as with our batcher on a ManualClock. Data takes the shape it renders (a JIRA
    ``status`` is ``{"name": …}`` there).
    """
    data = message.data
    if isinstance(data.get("status"), str):  # its JIRA items read status["name"]
        data = {**data, "status": {"name": data["status"]}}
    return {
        "id": message.id,
        "content_type": module.ContentType(message.content_type.value),
        "timestamp": start + (message.timestamp - T0),
        "author": message.author,
        "priority": message.priority,
        "data": data,
    }
