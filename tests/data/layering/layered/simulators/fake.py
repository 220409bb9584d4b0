"""A simulator; only the CLI may import it."""
