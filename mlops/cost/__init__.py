"""`mlops cost`: a monthly AWS cost estimate of a stack, offline.

- `prices_<region>.yaml`: dated list prices with their sources (`prices.py` loads and checks them);
- `usage.py`: the usage assumptions (requests per day, payload size, ...), defaulted per stack;
- `pricers.py`, `pricers_platform.py`: one pricing function per billable resource type;
- `catalog.py`: types that cost nothing by themselves (with the reason);
- `estimator.py`: pure `estimate(resources, prices, usage)`; `model.py`: the line items and the
  estimate it returns; `report.py`: the command and tables;
- `egress.py`: the egress design's monthly cost line.
"""

from mlops.cost import pricers, pricers_platform  # noqa: F401  (registers every pricer)
