"""Similarity scoring: the fast per-batch score equals the best pairwise score."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slack_batcher import BatchGroup, BatchType, ContentType
from slack_batcher.grouping import ChannelQueue, batch_similarity, similarity
from tests.factories import T0

profiles = st.tuples(
    st.sampled_from(["", "acme/api", "acme/web", "ops"]),
    st.sampled_from(["", "alice", "bob", "carol"]),
    st.sampled_from(list(ContentType)),
)


@given(members=st.lists(profiles, min_size=1, max_size=30), probe=profiles)
def test_batch_score_is_the_best_score_against_any_member(
    members: list[tuple[str, str, ContentType]], probe: tuple[str, str, ContentType]
) -> None:
    batch = BatchGroup("b", "C1", BatchType.CUSTOM, T0, T0)
    queue = ChannelQueue("C1")
    queue.add_batch(batch)
    for n, profile in enumerate(members):
        queue.features.clear()
        batch.messages.clear()
        queue.index_message(batch, _Stub(f"m{n}"), profile)  # type: ignore[arg-type]
    expected = max(similarity(probe, member) for member in members)
    assert abs(batch_similarity(probe, batch) - expected) < 1e-9


def test_scores_follow_the_documented_weights() -> None:
    pr = ContentType.PR_UPDATE
    jira = ContentType.JIRA_UPDATE
    assert similarity(("acme", "alice", pr), ("acme", "alice", jira)) == 0.7
    assert similarity(("acme", "alice", pr), ("acme", "bob", pr)) == 0.7
    assert abs(similarity(("acme", "alice", pr), ("web", "alice", pr)) - 0.6) < 1e-9
    assert similarity(("", "", pr), ("", "", pr)) == 1.0


class _Stub:
    def __init__(self, id: str) -> None:
        self.id = id
