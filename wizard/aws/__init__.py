"""The AWS layer: the only code that imports boto3 and botocore.

It turns live state into ``wizard.core`` data (a Snapshot) and a core Plan into API calls.
It never decides policy content itself.
"""
