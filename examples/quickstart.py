"""The README's library example: five PR events become one Slack message."""

from slack_batcher import BatchableMessage, BatchConfig, ContentType, ManualClock, MessageBatcher

clock = ManualClock()
batcher = MessageBatcher(BatchConfig(), clock=clock)

ready = batcher.add_message(
    BatchableMessage(
        id="gh-1",
        content_type=ContentType.PR_UPDATE,
        author="alice",
        data={
            "repository": "acme/api",
            "number": 42,
            "title": "Add auth",
            "action": "opened",
            "url": "https://github.com/acme/api/pull/42",
        },
    ),
    channel_id="C0DEV",
)
assert ready is None  # the batch waits for more events, up to 5 minutes

clock.advance(120)
batcher.add_message(
    BatchableMessage(
        id="jira-7",
        content_type=ContentType.JIRA_UPDATE,
        author="alice",
        data={"project": "acme/api", "key": "API-7", "summary": "Auth", "status": "In Review"},
    ),
    channel_id="C0DEV",
)

clock.advance(180)  # the window closes five minutes after the first event
for channel, messages in batcher.flush_expired_batches().items():
    for message in messages:
        print(channel, message.text)
