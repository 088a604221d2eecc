"""Training code of this use case: preprocess, train, evaluate, the SageMaker pipeline."""
