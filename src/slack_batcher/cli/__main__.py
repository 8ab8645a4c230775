"""``python -m slack_batcher.cli``: the same as the ``slack-batcher`` command."""

from .commands import main

main()
