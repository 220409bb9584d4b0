"""Speech synthesizers: the offline piper voice, MP3 encoding and their timing alignment."""
