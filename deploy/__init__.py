"""Several app replicas behind nginx on one machine: ``python -m deploy --replicas 2``."""
