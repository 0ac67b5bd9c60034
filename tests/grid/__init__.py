"""Tests of the grid wing."""
