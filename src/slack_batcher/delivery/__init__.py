"""Delivery to Slack: the Sender protocol and its implementations."""

from .base import PostResult, Sender

__all__ = ["PostResult", "Sender"]
