"""Pure counting for participatory budgeting: ballots, rules, tie-breaks, explanations, pabulib I/O.

Nothing in this package imports Flask or SQLAlchemy, reads the clock or uses the global
``random``: every input (including seeds and tie-break orders) is passed in, so a count can be
reproduced by anyone from the published files alone.
"""
