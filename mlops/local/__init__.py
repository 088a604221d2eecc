"""Local mode: the platform's AWS surface on one machine (moto server), for the demo and tests."""
