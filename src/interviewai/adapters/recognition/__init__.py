"""Speech recognition engines: faster-whisper on packaged weights, and OpenAI-compatible endpoints."""
