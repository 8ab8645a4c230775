"""Similarity scoring: the fast per-batch score equals the best pairwise score."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from slack_batcher import (
    BatchConfig,
    BatchGroup,
    BatchStrategy,
    BatchType,
    ContentType,
    MessageBatcher,
)
from slack_batcher.grouping import ChannelQueue, GroupingPolicy, batch_similarity, similarity
from tests.factories import T0, jira, pr

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


@given(
    members=st.lists(st.tuples(st.integers(0, 5), profiles), min_size=1, max_size=25),
    probe=profiles,
    threshold=st.sampled_from([0.0, 0.3, 0.6, 0.7, 1.0]),
)
def test_choose_picks_the_first_opened_of_the_best_scoring_batches(
    members: list[tuple[int, tuple[str, str, ContentType]]],
    probe: tuple[str, str, ContentType],
    threshold: float,
) -> None:
    policy = GroupingPolicy([BatchStrategy.CONTENT_SIMILARITY], threshold)
    queue = ChannelQueue("C1")
    batches: dict[int, BatchGroup] = {}
    for n, (slot, profile) in enumerate(members):
        if slot not in batches:
            batches[slot] = BatchGroup(f"b{slot}", "C1", BatchType.CUSTOM, T0, T0)
            queue.add_batch(batches[slot])
        queue.index_message(batches[slot], _Stub(f"m{n}"), profile)  # type: ignore[arg-type]
    scored = [(batch_similarity(probe, b), b) for b in queue.batches.values()]
    qualifying = [(score, b) for score, b in scored if score >= threshold - 1e-9]
    chosen = policy.choose(queue, (), probe)
    if not qualifying:
        assert chosen is None
    else:
        top = max(score for score, _ in qualifying)
        first_best = next(b for score, b in qualifying if abs(score - top) < 1e-9)
        assert chosen is first_best


def test_threshold_zero_puts_every_message_of_a_channel_together(
    make_batcher: Callable[..., MessageBatcher],
) -> None:
    batcher = make_batcher(BatchConfig(similarity_threshold=0.0))
    batcher.add_message(pr("a", author="alice", repo="acme/api"), "C1")
    batcher.add_message(jira("b", author="bob", project="OTHER"), "C1")
    assert batcher.inspect_pending_batches()["total_batches"] == 1
