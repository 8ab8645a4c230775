"""The HTTP service: FastAPI app (ingest, control, stats, health, metrics, dashboard)."""

from .app import create_app

__all__ = ["create_app"]
