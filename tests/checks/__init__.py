"""Tests of the checks wing."""
