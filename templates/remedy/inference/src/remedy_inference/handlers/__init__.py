"""Lambda entry points (Powertools): thin over ``remedy_inference.steps``."""
