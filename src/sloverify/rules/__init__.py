"""Layer 2: PromQL and rule generation, time scaling, lint, theory and promtool proofs. Pure."""
