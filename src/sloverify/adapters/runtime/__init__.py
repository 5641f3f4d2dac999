"""The embedded runtime: real components as local processes, started, watched and stopped."""
