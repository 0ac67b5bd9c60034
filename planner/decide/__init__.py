"""Decide: what the works cut off, tie transfers, truck allocation, fleet, the planning loop."""
