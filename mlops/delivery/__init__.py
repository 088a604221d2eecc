"""Pure helpers for use-case delivery: event patterns, IAM documents, buildspecs, CloudFormation
templates and promotion metadata. No Pulumi and no boto3 at import time; adapters are separate."""
