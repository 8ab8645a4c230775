"""The ``slack-batcher`` command (click): serve, demo, client commands, config and routes.

Kept free of imports so that :mod:`slack_batcher._launcher` can explain a missing extra.
"""
