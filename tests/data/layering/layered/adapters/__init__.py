"""The adapters layer of the fixture."""
