"""Tests of the rehearsal: evaluator, reachability, provider calls, estate, scenarios."""
