"""cwl-export-wizard: make an SSE-KMS S3 bucket a working CloudWatch Logs export destination."""

__version__ = "0.1.0"
