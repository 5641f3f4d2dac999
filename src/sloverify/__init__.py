"""sloverify: prove SLO alerts fire, stay silent and resolve as specified."""

__version__ = "0.1.0"
