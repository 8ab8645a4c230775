"""A day of a small team's events, batched into Slack messages (library only, no token)."""

from __future__ import annotations

import random
from collections import Counter

from slack_batcher import BatchableMessage, BatchConfig, ContentType, ManualClock, MessageBatcher

CHANNELS = ["#dev-api", "#dev-web", "#jira", "#ci", "#deploys", "#alerts"]
AUTHORS = ["alice", "bob", "carol", "dave", "erin"]
REPOS = ["acme/api", "acme/web"]


def events(rng: random.Random) -> list[tuple[float, str, BatchableMessage]]:
    out: list[tuple[float, str, BatchableMessage]] = []
    t = 0.0
    for i in range(300):
        t += rng.expovariate(1 / 40)
        repo = rng.choice(REPOS)
        author = rng.choice(AUTHORS)
        kind = rng.choices(["pr", "jira", "ci", "deploy", "alert"], [5, 3, 2, 1, 1])[0]
        if kind == "pr":
            number = rng.randint(100, 130)
            data = {"repository": repo, "number": number, "title": f"PR #{number}",
                    "action": rng.choice(["opened", "reviewed", "merged"]),
                    "url": f"https://github.com/{repo}/pull/{number}"}
            msg = BatchableMessage(id=f"gh-{i}", content_type=ContentType.PR_UPDATE,
                                   author=author, data=data)
            channel = "#dev-api" if repo == "acme/api" else "#dev-web"
        elif kind == "jira":
            key = f"ACME-{rng.randint(1, 40)}"
            msg = BatchableMessage(id=f"jira-{i}", content_type=ContentType.JIRA_UPDATE,
                                   author=author, data={"project": "ACME", "key": key,
                                                        "summary": f"Ticket {key}",
                                                        "status": rng.choice(["To Do", "Done"])})
            channel = "#jira"
        elif kind == "ci":
            msg = BatchableMessage(id=f"ci-{i}", content_type=ContentType.CI_BUILD, author=author,
                                   priority="high", data={"repository": repo,
                                                          "title": f"build failed on {repo}"})
            channel = "#ci"
        elif kind == "deploy":
            msg = BatchableMessage(id=f"dep-{i}", content_type=ContentType.DEPLOYMENT,
                                   data={"service": repo, "title": f"deploy {repo} v1.{i}"})
            channel = "#deploys"
        else:
            msg = BatchableMessage(id=f"al-{i}", content_type=ContentType.ALERT,
                                   priority=rng.choice(["high", "critical", "medium"]),
                                   data={"service": "api", "title": "HighLatency p99 > 2s"})
            channel = "#alerts"
        out.append((t, channel, msg))
    return out


def main() -> None:
    clock = ManualClock()
    batcher = MessageBatcher(BatchConfig(), clock=clock)
    posts: Counter[str] = Counter()
    received: Counter[str] = Counter()
    now = 0.0
    for at, channel, message in events(random.Random(7)):
        clock.advance(at - now)
        now = at
        for ch, messages in batcher.flush_expired_batches().items():
            posts[ch] += len(messages)
        received[channel] += 1
        if batcher.add_message(message, channel) is not None:
            posts[channel] += 1
    for ch, messages in batcher.shutdown().items():
        posts[ch] += len(messages)
    print(f"{'channel':<12}{'events':>8}{'posts':>8}{'saved':>8}")
    for channel in CHANNELS:
        saved = 1 - posts[channel] / received[channel] if received[channel] else 0
        print(f"{channel:<12}{received[channel]:>8}{posts[channel]:>8}{saved:>8.0%}")
    total_in, total_out = sum(received.values()), sum(posts.values())
    print(f"{'total':<12}{total_in:>8}{total_out:>8}{1 - total_out / total_in:>8.0%}")


if __name__ == "__main__":
    main()
