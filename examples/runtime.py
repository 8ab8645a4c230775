"""The README's runtime example: BatchingService posts batches through the real slack_sdk
client, here to FakeSlack (a Slack-compatible server on 127.0.0.1) on a simulated clock.

Swap ``SlackSender(token, base_url=slack.base_url)`` for ``SlackSender("xoxb-…")`` and drop
the ManualClock to post to your workspace in real time.
"""

import asyncio
import tempfile
from pathlib import Path

from slack_batcher import (
    BatchableMessage,
    BatchingService,
    ContentType,
    ManualClock,
    MessageBatcher,
    SlackMessageFormatterFactory,
    SlackSender,
    SQLiteStore,
)
from slack_batcher.testing import FakeSlack


async def main() -> None:
    clock = ManualClock()
    with tempfile.TemporaryDirectory() as work, FakeSlack(clock=clock) as slack:
        batcher = MessageBatcher(
            formatter_factory=SlackMessageFormatterFactory(),
            clock=clock,
            store=SQLiteStore(Path(work) / "batches.db"),  # survives restarts
        )
        sender = SlackSender(slack.token or "xoxb-fake", base_url=slack.base_url)
        async with BatchingService(batcher, sender) as service:
            for number, action in ((42, "opened"), (42, "reviewed"), (43, "opened")):
                event = BatchableMessage(
                    id=f"gh-{number}-{action}",
                    content_type=ContentType.PR_UPDATE,
                    author="alice",
                    data={
                        "repository": "acme/api",
                        "number": number,
                        "action": action,
                        "title": f"PR #{number}",
                        "url": f"https://github.com/acme/api/pull/{number}",
                    },
                )
                await service.submit(event, "C0DEV")
            await service.advance(300)  # the window closes: the batch is posted
        batcher.close()
        for post in slack.posts:
            print(post.channel, "|", post.text.splitlines()[0])


asyncio.run(main())
