"""Use cases: take plain values, load rows, call the pure core, commit; raise named errors."""


class ServiceError(Exception):
    """A use case refused: the message is safe to show to the person who asked."""
