"""Remedy domain package shared by the training and inference repos (pure Python, no boto3)."""
