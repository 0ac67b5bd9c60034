"""Inputs: reading and checking the case, the network, profiles; the design demand."""
