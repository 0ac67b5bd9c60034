"""Outputs: atomic output sets, the crew and manager reports, drawings."""
