"""Compatibility layers: other batchers' APIs over slack-batcher's core.

``slack_batcher.compat.devsync`` is the DevSync ``devsync_ai.core.message_batcher`` API:
code written against it migrates by changing one import (see
``docs/migrating-from-devsync.md``).
"""
