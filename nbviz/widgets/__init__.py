"""Widgets: traitlets state and glue between the kernels and the browser."""

from .embedding_explorer import EmbeddingExplorer

__all__ = ["EmbeddingExplorer"]
