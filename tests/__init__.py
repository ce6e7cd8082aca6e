"""Tests for pb_app."""
