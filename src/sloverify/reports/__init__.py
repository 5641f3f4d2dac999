"""Layer 6: rendering of results; formatting only."""
