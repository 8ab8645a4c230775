"""A message's size_bytes is its payload's compact-JSON size, counted or encoded alike."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from slack_batcher import BatchableMessage, ContentType
from slack_batcher.model.json_size import plain_json_size

_TEXT = st.text(max_size=12)
_SCALARS = st.one_of(
    _TEXT, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False)
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(st.one_of(_TEXT, st.integers()), max_size=4),
    st.dictionaries(_TEXT, st.one_of(_TEXT, st.integers()), max_size=4),
)
_PAYLOADS = st.dictionaries(_TEXT, _VALUES, max_size=8)


def _encoded(value: dict[str, Any]) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


@given(_PAYLOADS)
def test_counted_size_equals_the_encoded_size(payload: dict[str, Any]) -> None:
    counted = plain_json_size(payload)
    if counted is not None:  # None: left to the encoder
        assert counted == _encoded(payload)


@given(_PAYLOADS)
def test_size_bytes_counts_id_author_data_and_metadata(payload: dict[str, Any]) -> None:
    try:
        expected = _encoded(payload)
    except UnicodeEncodeError:  # a lone surrogate: the message refuses it (tested elsewhere)
        return
    message = BatchableMessage("m-1", ContentType.GENERIC, author="al", data=payload)
    assert message.size_bytes == len("m-1") + len("al") + expected + 2


def test_a_typical_payload_is_counted_and_escapes_are_left_to_the_encoder() -> None:
    typical = {
        "repository": "acme/web",
        "number": 7642,
        "title": "Übersetzung für scheduler 🚀",
        "draft": False,
        "merged_by": None,
        "labels": ["bug", "ui"],
        "annotations": {"summary": "fine"},
    }
    assert plain_json_size(typical) == _encoded(typical)
    assert plain_json_size({"title": 'say "hi"'}) is None
    assert plain_json_size({"title": "a\\b"}) is None
    assert plain_json_size({"title": "line\nbreak"}) is None
    assert plain_json_size({"ratio": 0.5}) is None
    assert plain_json_size({"big": 10**40}) is None
    assert plain_json_size({1: "x"}) is None  # type: ignore[dict-item]
