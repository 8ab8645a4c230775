"""A child process for tests/test_store_disk.py: the store under a file size limit.

``python -m tests.disk_child <limit-bytes> <store> <mode> [count]`` sets ``RLIMIT_FSIZE``
(no file of this process may grow past the limit: a small disk, without root) and ignores
SIGXFSZ, so a write past it fails with EFBIG as on a full disk. Prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import signal
import sys

from slack_batcher import BatchableMessage, BatchConfig, ContentType, MessageBatcher, SQLiteStore
from slack_batcher.model.errors import StoreError


def event(number: int, size: int = 300) -> BatchableMessage:
    return BatchableMessage(
        id=f"e{number}",
        content_type=ContentType.PR_UPDATE,
        author="alice",
        data={"repository": "acme/api", "number": number, "title": "x" * size},
    )


def main(limit: int, path: str, mode: str, count: int) -> dict[str, object]:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        store = SQLiteStore(path)
    except StoreError as exc:
        return {"opened": False, "error": str(exc)}
    report: dict[str, object] = {"opened": True, "write_error": store.write_error}
    batcher = MessageBatcher(BatchConfig(), store=store, auto_ack=False)
    accepted = 0
    try:
        if mode == "ingest":  # add and deliver at once, as a busy service does
            for number in range(count):
                batcher.add(event(number), f"C{number % 20}")
                accepted += 1
                for entry in batcher.outbox.entries():
                    batcher.outbox.ack(entry.id)
        elif mode == "fill":  # pending data grows until the limit
            for number in range(count):
                batcher.add(event(number, 3000), f"C{number}")
                accepted += 1
        elif mode == "deliver":  # read the outbox, as a restart does
            report["outbox"] = [m.id for e in batcher.outbox.entries() for m in e.messages]
    except StoreError as exc:
        report["error"] = str(exc)
        report["error_type"] = type(exc).__name__
    report["accepted"] = accepted
    store.close()
    return report


if __name__ == "__main__":
    limit, path, mode, *rest = sys.argv[1:]
    print(json.dumps(main(int(limit), path, mode, int(rest[0]) if rest else 0)))
