"""Durable storage of interview sessions."""
