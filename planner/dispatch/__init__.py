"""Dispatch: hourly schedule, switching sequence, and the pipeline from case to plan."""
