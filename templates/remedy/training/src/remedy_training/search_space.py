"""The hyperparameter search space, declared ONCE, translated to SageMaker and Optuna.

`sagemaker_ranges()` feeds the HyperparameterTuner of the SageMaker pipeline,
`optuna_distributions()` the local TPE study; tests check the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "float" | "int"
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int"):
            raise ValueError(f"{self.name}: kind must be float or int")
        if not self.low < self.high:
            raise ValueError(f"{self.name}: low must be below high")
        if self.log and self.low <= 0:
            raise ValueError(f"{self.name}: a log-scaled range needs low > 0")


SEARCH_SPACE: tuple[Param, ...] = (
    Param("learning_rate", "float", 0.02, 0.3, log=True),
    Param("num_leaves", "int", 8, 128, log=True),
    Param("min_data_in_leaf", "int", 5, 100, log=True),
    Param("feature_fraction", "float", 0.5, 1.0),
    Param("bagging_fraction", "float", 0.5, 1.0),
    Param("lambda_l2", "float", 0.001, 10.0, log=True),
    Param("num_boost_round", "int", 50, 400),
)


def sagemaker_ranges() -> dict:
    """{name: ContinuousParameter | IntegerParameter} for sagemaker.train.tuner."""
    from sagemaker.core.parameter import ContinuousParameter, IntegerParameter

    out = {}
    for p in SEARCH_SPACE:
        scaling = "Logarithmic" if p.log else "Linear"
        cls = ContinuousParameter if p.kind == "float" else IntegerParameter
        low, high = (p.low, p.high) if p.kind == "float" else (int(p.low), int(p.high))
        out[p.name] = cls(low, high, scaling_type=scaling)
    return out


def optuna_distributions() -> dict:
    import optuna

    out = {}
    for p in SEARCH_SPACE:
        if p.kind == "float":
            out[p.name] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
        else:
            out[p.name] = optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.log)
    return out
