"""The stored survey answers as the ministry reads them: a unit's responses, page by page, without identity.

`ResponsesStore` is the contract services rely on; this module's functions are its DynamoDB implementation (the
module itself is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one,
and `tests/unit/test_store_contract.py` runs the same cases against both. Responses are written with the
submission's transaction (`store/survey.record_submission`); this module only reads them."""
from __future__ import annotations

from typing import Protocol

from chalicelib.store import survey
from chalicelib.store.survey import Response


class ResponsesStore(Protocol):
    """A unit's stored responses, with what every implementation keeps:
    - a response handed out carries no identity (no respondent id, name, e-mail, address; its submit instant is
      kept but services hand out none of it);
    - `page` answers at most `limit` responses of the unit in response-id order (random ids: the order says nothing
      about who answered when), only those of questionnaire `qid` when given, and those after the response id
      `after` when given; with them the cursor to pass as `after` for the next page, None when no response is left;
    - walking the pages sees every stored response of the unit exactly once."""

    def page(self, unit_key: str, *, limit: int, after: str | None,
             qid: str | None) -> tuple[list[Response], str | None]: ...


def page(unit_key: str, *, limit: int, after: str | None, qid: str | None) -> tuple[list[Response], str | None]:
    # one Query on the unit's partition, sorted by response id and started after the cursor: every response once,
    # in id order; the items are the identity-free `Response` records the submit transaction wrote
    return survey.responses_page(unit_key, limit=limit, after=after, qid=qid)
