"""Deployable infrastructure: the resources template merged with `chalice package`, and the IAM policy derived
from what the code calls. See the README's "Deploying" section."""
