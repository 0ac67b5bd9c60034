"""Tests of the dispatch wing."""
