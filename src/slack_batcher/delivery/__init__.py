"""Delivery to Slack: the Sender protocol and its implementations."""

from .base import PostResult, Sender
from .classify import is_auth_error, is_transient, may_have_posted
from .console import ConsoleSender
from .jsonl import JsonlSender
from .slack import SlackSender
from .webhook import WebhookSender

__all__ = [
    "ConsoleSender",
    "JsonlSender",
    "PostResult",
    "Sender",
    "SlackSender",
    "WebhookSender",
    "is_auth_error",
    "is_transient",
    "may_have_posted",
]
