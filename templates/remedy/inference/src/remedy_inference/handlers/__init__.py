"""Lambda entry points (Powertools Logger): thin over ``remedy_inference.steps``.

Cold start is part of every decision's latency budget, so the handlers keep their imports to
what their step needs: events are parsed with the step's pydantic model directly (Powertools'
``event_parser`` would add its parser package, ~0.1 s), X-Ray SDK subsegments are opt-in
(``runtime.traced``), and ``package.py`` builds the function package and the dependency layer
that ``python -X importtime`` is measured on (``bench/bench_decision.py``).
"""
