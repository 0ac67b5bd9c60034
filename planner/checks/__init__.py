"""Checks: verification of a stage set-up hour by hour, and validation of a given plan."""
