"""Alembic migrations for the session store (applied at start)."""
