"""Chroma-backed vector store: filters, record validation and the binary index."""

from __future__ import annotations
