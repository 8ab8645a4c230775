"""Similarity scoring: the fast per-batch score equals the best pairwise score."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from slack_batcher import (
    BatchableMessage,
    BatchConfig,
    BatchGroup,
    BatchStrategy,
    BatchType,
    ContentType,
    ManualClock,
    MessageBatcher,
)
from slack_batcher.core.grouping import (
    ChannelQueue,
    GroupingPolicy,
    Profile,
    batch_similarity,
    profile_of,
    similarity,
)
from tests.factories import T0, jira, pr

profiles = st.tuples(
    st.sampled_from(["", "acme/api", "acme/web", "ops"]),
    st.sampled_from(["", "alice", "bob", "carol"]),
    st.sampled_from(list(ContentType)),
)


def _message(n: int, profile: tuple[str, str, ContentType]) -> BatchableMessage:
    """A real message whose features are *profile* (scope, author, content type)."""
    scope, author, kind = profile
    return BatchableMessage(
        id=f"m{n}",
        content_type=kind,
        timestamp=T0,
        author=author.upper() if n % 2 else (author or None),  # folding is case-blind
        data={"repository": scope} if scope else {},
    )


def _join(queue: ChannelQueue, batch: BatchGroup, n: int, profile: Profile) -> None:
    message = _message(n, profile)
    batch.add_message(message)
    queue.index_message(batch, message, profile_of(message))


@given(
    members=st.lists(profiles, min_size=1, max_size=30),
    probe=profiles,
    scoped=st.booleans(),
)
def test_batch_score_is_the_best_score_against_any_member(
    members: list[Profile], probe: Profile, scoped: bool
) -> None:
    batch = BatchGroup("b", "C1", BatchType.CUSTOM, T0, T0)
    queue = ChannelQueue("C1", scoped=scoped)
    queue.add_batch(batch)
    for n, profile in enumerate(members):
        _join(queue, batch, n, profile)
    expected = max(similarity(probe, member) for member in members)
    assert abs(batch_similarity(probe, batch) - expected) < 1e-9


def test_scores_follow_the_documented_weights() -> None:
    pr = ContentType.PR_UPDATE
    jira = ContentType.JIRA_UPDATE
    assert similarity(("acme", "alice", pr), ("acme", "alice", jira)) == 0.7
    assert similarity(("acme", "alice", pr), ("acme", "bob", pr)) == 0.7
    assert abs(similarity(("acme", "alice", pr), ("web", "alice", pr)) - 0.6) < 1e-9
    assert similarity(("", "", pr), ("", "", pr)) == 1.0


@given(
    members=st.lists(st.tuples(st.integers(0, 5), profiles), min_size=1, max_size=25),
    probe=profiles,
    threshold=st.sampled_from([0.0, 0.3, 0.6, 0.7, 1.0]),
)
def test_choose_picks_the_first_opened_of_the_best_scoring_batches(
    members: list[tuple[int, Profile]],
    probe: Profile,
    threshold: float,
) -> None:
    policy = GroupingPolicy([BatchStrategy.CONTENT_SIMILARITY], threshold)
    queue = policy.new_queue("C1")
    batches: dict[int, BatchGroup] = {}
    for n, (slot, profile) in enumerate(members):
        if slot not in batches:
            batches[slot] = BatchGroup(f"b{slot}", "C1", BatchType.CUSTOM, T0, T0)
            queue.add_batch(batches[slot])
        _join(queue, batches[slot], n, profile)
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


STRATEGY_SETS = [
    [BatchStrategy.TIME_BASED, BatchStrategy.CONTENT_SIMILARITY],
    [BatchStrategy.CONTENT_SIMILARITY],
    [BatchStrategy.TIME_BASED],
    [BatchStrategy.AUTHOR_BASED, BatchStrategy.CONTENT_SIMILARITY],
    [BatchStrategy.PRIORITY_BASED, BatchStrategy.CONTENT_SIMILARITY],
    [BatchStrategy.MIXED, BatchStrategy.TIME_BASED],
]


@settings(max_examples=200, deadline=None)
@given(
    adds=st.lists(
        st.tuples(st.integers(0, 2), profiles, st.sampled_from(["high", "medium", "low"])),
        max_size=40,
    ),
    threshold=st.sampled_from([0.0, 0.3, 0.6, 0.65, 0.7, 0.8, 1.0]),
    strategies=st.sampled_from(STRATEGY_SETS),
)
def test_placement_matches_the_pairwise_definition(
    adds: list[tuple[int, Profile, str]], threshold: float, strategies: list[BatchStrategy]
) -> None:
    """Each message joins the open batch a naive pairwise scan over all members picks."""
    config = BatchConfig(max_batch_size=1000, similarity_threshold=threshold, strategies=strategies)
    batcher = MessageBatcher(config, clock=ManualClock(T0))
    # channel -> [(batch id, partition, member profiles)] in opening order
    model: dict[str, list[tuple[str, tuple[str, ...], list[Profile]]]] = {}
    for n, (slot, profile, priority) in enumerate(adds):
        message = replace(_message(n, profile), priority=priority)
        channel = f"C{slot}"
        parts: list[str] = []
        if BatchStrategy.AUTHOR_BASED in strategies:
            parts.append(profile[1])
        if BatchStrategy.PRIORITY_BASED in strategies:
            parts.append(priority)
        if BatchStrategy.MIXED in strategies:
            parts.append(message.get_similarity_key())
        partition = tuple(parts)
        open_batches = [b for b in model.setdefault(channel, []) if b[1] == partition]
        expected = None
        if BatchStrategy.CONTENT_SIMILARITY not in strategies:
            expected = open_batches[0] if open_batches else None
        else:
            best = -1.0
            for candidate in open_batches:
                score = max(similarity(profile, member) for member in candidate[2])
                if score >= threshold - 1e-9 and score > best + 1e-9:
                    expected, best = candidate, score
        result = batcher.add(message, channel)
        if expected is None:
            assert result.batch_id not in {b[0] for b in model[channel]}
            model[channel].append((result.batch_id, partition, [profile]))
        else:
            assert result.batch_id == expected[0]
            expected[2].append(profile)
