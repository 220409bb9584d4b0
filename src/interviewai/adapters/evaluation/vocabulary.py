"""An English word list for telling words from gibberish: the whole-word entries of MiniLM's vocabulary."""

from __future__ import annotations

from tokenizers import Tokenizer

from interviewai.adapters.embeddings.minilm import tokenizer_path


def english_vocabulary() -> frozenset[str]:
    """About 20,000 lower-case English words (uncased WordPiece entries that are whole alphabetic words)."""
    vocabulary = Tokenizer.from_file(str(tokenizer_path())).get_vocab()
    return frozenset(token for token in vocabulary if token.isalpha() and token.isascii())
