"""BM25-style lexical vectors: Qdrant's own BM25 tokenizer (from qdrant-edge) producing sparse vectors.

Documents and queries are encoded differently (term frequencies with length normalisation vs. plain
term presence); the IDF part is applied by the collection's sparse vector (IDF modifier), on the
embedded engine and on a Qdrant server alike, so lexical scores agree across the two backends.
"""

from __future__ import annotations

import qdrant_edge as qe

from lbi.store.base import Sparse


class LexicalEncoder:
    """Encodes text to sparse vectors; cheap (Rust tokenizer), no model, thread-safe."""

    def __init__(self) -> None:
        self._bm25 = qe.Bm25()

    def document(self, text: str) -> Sparse:
        vec = self._bm25.embed_document(text)
        return Sparse(tuple(vec.indices), tuple(vec.values))

    def query(self, text: str) -> Sparse:
        vec = self._bm25.embed_query(text)
        return Sparse(tuple(vec.indices), tuple(vec.values))
