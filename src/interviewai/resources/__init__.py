"""Packaged data: the default question bank, avatar image, voice snapshots."""
