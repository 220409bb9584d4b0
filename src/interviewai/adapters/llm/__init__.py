"""Chat-model (LLM) adapters."""
