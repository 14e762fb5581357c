"""The functional core: every decision is a pure function of data.

Nothing here may import boto3, botocore, textual, questionary or moto (tests enforce it).
"""
