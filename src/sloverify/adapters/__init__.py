"""Layer 5: the only code that touches processes and sockets."""
