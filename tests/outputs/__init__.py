"""Tests of the outputs wing."""
