class SimError(Exception):
    """Something the simulator was asked to do that it cannot."""
