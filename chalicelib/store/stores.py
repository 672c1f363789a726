"""The stores a service is handed: one field per store contract, and the wiring the deployed code runs on (`DYNAMODB`:
the DynamoDB tables, S3's buckets as `files`, SES as `mailer` and SQS as `queues`).

A service function takes `stores: Stores = DYNAMODB` as a keyword and reaches storage only through it, passing it
on to every service it calls; tests hand it `chalicelib/store/memory.stores()` instead (see docs/ARCHITECTURE.md,
"How services get their stores"). A store module whose functions satisfy its contract is itself the implementation:
mypy checks each module below against its Protocol where `DYNAMODB` is built."""
from __future__ import annotations

from msgspec import Struct

from chalicelib.store import (accounts, address_changes, assessment, audit, campaigns, delivery, files, integrity,
                              links, mailer, questionnaires, queues, responses, roster, survey)
from chalicelib.store.address_changes import AddressChangesStore
from chalicelib.store.assessment import AssessmentStore
from chalicelib.store.accounts import AccountsStore
from chalicelib.store.audit import AuditStore
from chalicelib.store.campaigns import CampaignsStore
from chalicelib.store.delivery import DeliveryStore
from chalicelib.store.files import FilesStore
from chalicelib.store.integrity import IntegrityStore
from chalicelib.store.links import LinksStore
from chalicelib.store.mailer import Mailer
from chalicelib.store.questionnaires import QuestionnairesStore
from chalicelib.store.queues import Queues
from chalicelib.store.responses import ResponsesStore
from chalicelib.store.roster import RosterStore
from chalicelib.store.survey import SurveyStore


class Stores(Struct, frozen=True, weakref=True):
    accounts: AccountsStore
    audit: AuditStore
    campaigns: CampaignsStore
    questionnaires: QuestionnairesStore
    assessment: AssessmentStore
    files: FilesStore
    roster: RosterStore
    address_changes: AddressChangesStore
    responses: ResponsesStore
    links: LinksStore
    delivery: DeliveryStore
    mailer: Mailer
    queues: Queues
    integrity: IntegrityStore
    survey: SurveyStore


DYNAMODB = Stores(accounts=accounts, audit=audit, campaigns=campaigns, questionnaires=questionnaires,
                  assessment=assessment, files=files, roster=roster, address_changes=address_changes,
                  responses=responses, links=links, delivery=delivery, mailer=mailer, queues=queues,
                  integrity=integrity, survey=survey)
