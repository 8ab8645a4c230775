"""Delivery to Slack: the Sender protocol and its implementations."""

from .base import PostResult, Sender
from .classify import is_auth_error, is_transient, may_have_posted
from .slack import SlackSender

__all__ = [
    "PostResult",
    "Sender",
    "SlackSender",
    "is_auth_error",
    "is_transient",
    "may_have_posted",
]
