"""Faithful local stand-ins for outside services (Edge TTS, D-ID), for tests and offline development."""
