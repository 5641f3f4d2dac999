"""Layer 4: run an experiment's phases against ports, emitting typed events; cleanup always runs."""
