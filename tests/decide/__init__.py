"""Tests of the decide wing."""
