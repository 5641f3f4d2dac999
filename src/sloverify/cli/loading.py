"""Spec loading for commands; it lives in ``rules.loading`` so adapters can use it too."""

from sloverify.rules.loading import Loaded, load_all, output_stems

__all__ = ["Loaded", "load_all", "output_stems"]
