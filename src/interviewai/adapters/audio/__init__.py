"""Audio decoding (PyAV): uploads and live streams to 16 kHz mono PCM."""
