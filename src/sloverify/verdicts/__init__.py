"""Layer 3: judge observations against an experiment's plan. A violated SLO is data, never an exception."""
