"""Tests of the pure counting package, pb_app.tally: no app, no database."""
