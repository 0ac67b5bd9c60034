"""Tests of the inputs wing."""
