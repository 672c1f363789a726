"""Helpers to recognise DynamoDB's conditional-check failures through PynamoDB's exceptions."""
from __future__ import annotations

from pynamodb.exceptions import PynamoDBException


def condition_failed(exc: PynamoDBException) -> bool:
    return getattr(exc, "cause_response_code", None) in ("ConditionalCheckFailedException",
                                                         "TransactionCanceledException")
