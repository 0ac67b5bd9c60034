"""Grid: topology, switching state, stage context, the load-flow engine and its fallback, limits."""
