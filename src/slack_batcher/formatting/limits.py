"""Slack's Block Kit and message limits, as named constants."""

from __future__ import annotations

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ELEMENTS = 25
MAX_BLOCK_ID = 255
MAX_FALLBACK_TEXT = 4000
