"""Routing: which channel(s) each event goes to (the ``[[routes]]`` table)."""
