"""Avatar renderers: talking-presenter video clips (D-ID Clips)."""
