"""The demo: a day of a small team's webhooks through the real service, in seconds."""
