"""State shared by every instance of the service."""
