"""SageMaker SDK pieces every use-case training pipeline shares.

Imported only by rendered training repos (lazily: the platform program never imports sagemaker).
"""

from __future__ import annotations

from typing import Any


def secure_tuner(*, volume_kms_key_id: Any, **tuner_args: Any) -> Any:
    """A `HyperparameterTuner` whose training jobs keep the platform's security settings.

    The sagemaker 3.x tuner drops the trainer's volume KMS key, network isolation and
    inter-container traffic encryption from the training-job definition it builds; this puts
    them back, so every tuning job runs as the policy pack requires.
    """
    from sagemaker.train.tuner import HyperparameterTuner

    class SecureTuner(HyperparameterTuner):
        def _build_training_job_definition(self, inputs: Any) -> Any:
            definition = super()._build_training_job_definition(inputs)
            definition.resource_config.volume_kms_key_id = volume_kms_key_id
            definition.enable_network_isolation = True
            definition.enable_inter_container_traffic_encryption = True
            return definition

    return SecureTuner(**tuner_args)
