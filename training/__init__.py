"""Training pipeline for the default mask classifier: ``python -m training prepare|train|evaluate|all``."""
