"""The ragkit command line."""

from __future__ import annotations


def main() -> int:
    """Entry point (filled in below)."""
    return 0
