"""Tables, designed from the access patterns (docs/ARCHITECTURE.md, section 3): every request-path read is a GetItem or Query."""
from __future__ import annotations

from pynamodb.attributes import (BooleanAttribute, JSONAttribute, ListAttribute, MapAttribute, NumberAttribute,
                                 TTLAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute,
                                 VersionAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.config import settings

_S = settings()


def _meta(name: str) -> type:
    return type("Meta", (), {"table_name": f"{_S.table_prefix}{name}", "region": _S.region,
                             "billing_mode": "PAY_PER_REQUEST"})


class CampaignModel(Model):
    """All campaigns share one partition so listing them is a Query."""
    Meta = _meta("campaigns")
    pk = UnicodeAttribute(hash_key=True, default="CAMPAIGN")
    cid = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    year = NumberAttribute()
    timezone = UnicodeAttribute()
    groups = JSONAttribute()
    questionnaires = JSONAttribute(default=dict)
    phases = JSONAttribute()  # [{"code","name","opens_at","closes_at","extended"?}] in campaign order
    departments = JSONAttribute(default=list)  # [{"name", "ministry"}]: provincial departments and ministries
    ministry_exempt = JSONAttribute(default=list)  # ministries whose leaders get no "managing ministry" form
    reminder_days = JSONAttribute(default=list)  # automatic reminders this many days before the survey deadline
    auto_reminders_done = UnicodeSetAttribute(null=True)  # "<deadline date>:<days left>" already started
    grades = JSONAttribute(null=True)  # [{"code", "name", "min"}], highest first: the index groups (A, B, C)
    min_responses = NumberAttribute(null=True)  # fewer survey answers than this: the unit's sample is too small
    contact = JSONAttribute(null=True)  # {"name", "phone"?, "email"?, "address"?}: where respondents get help
    mail_guard = JSONAttribute(null=True)  # {"unit_bounce_rate", "unit_min_mails"}: when a unit's sending pauses
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class UnitModel(Model):
    """One unit of a campaign (a province, or an assessed ministry), with its per-unit state."""
    Meta = _meta("units")
    cid = UnicodeAttribute(hash_key=True)
    unit = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    full_name = UnicodeAttribute()
    kind = UnicodeAttribute(default="province")  # "province" | "ministry" (an assessed ministry or agency)
    ranked = BooleanAttribute(default=True)  # False: assessed and given an index, but not ranked
    focal_person = JSONAttribute(null=True)
    extensions = MapAttribute(default=dict)  # phase code -> ISO close instant for this unit only
    closed_marks = MapAttribute(default=dict)  # phase code -> ISO close instant already announced
    # The roster: rows live in RespondentModel under the current generation; swapping `roster_gen` in one
    # conditional write is what makes an import of thousands of rows all-or-nothing.
    roster_gen = UnicodeAttribute(null=True)
    roster_version = NumberAttribute(default=0)
    roster_status = UnicodeAttribute(default="draft")  # "draft" | "submitted"
    roster_counts = MapAttribute(default=dict)  # group code -> respondents
    roster_seq = NumberAttribute(default=0)  # last row order handed out
    roster_pending = UnicodeSetAttribute(null=True)  # generations being written; leftovers of a crash are swept
    dispatch_lease = UTCDateTimeAttribute(null=True)  # one dispatch job per unit at a time
    dispatch_notified = UnicodeAttribute(null=True)  # the run whose "mails are out" notice was given
    dispatch_done = UnicodeSetAttribute(null=True)  # "<run>#<chunk>" and "<run>" of this unit's finished job parts
    annulled_at = UTCDateTimeAttribute(null=True)  # the ministry cancelled this unit's survey results
    annulled_by = UnicodeAttribute(null=True)
    annul_reason = UnicodeAttribute(null=True)
    roster_updated_at = UTCDateTimeAttribute(null=True)
    roster_submitted_at = UTCDateTimeAttribute(null=True)
    roster_submitted_by = UnicodeAttribute(null=True)
    roster_snapshot = UnicodeAttribute(null=True)  # S3 key of the roster exactly as sent to the ministry


class RespondentModel(Model):
    """One person on a unit's roster. `sk` = "<generation>#<rid>"; rid = "<order:06d>-<random>" so a
    Query returns the roster in its order and a row keeps its rid across imports."""
    Meta = _meta("respondents")
    unit_key = UnicodeAttribute(hash_key=True)  # "<cid>#<unit>"
    sk = UnicodeAttribute(range_key=True)
    rid = UnicodeAttribute()
    full_name = UnicodeAttribute()
    position = UnicodeAttribute()
    agency = UnicodeAttribute()
    group = UnicodeAttribute()
    email = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    ministry = UnicodeAttribute(null=True)
    ministry_source = UnicodeAttribute(null=True)
    ministry_unit = UnicodeAttribute(null=True)  # the assessed ministry unit they evaluate; None: none
    questionnaires = JSONAttribute()
    search = UnicodeAttribute()  # folded name and e-mail, for search
    updated_at = UTCDateTimeAttribute()


class LinkModel(Model):
    """One survey link: a respondent × a questionnaire purpose. The slot key makes a second live link for the
    same pair impossible; the tokens that open it live in TokenModel (only their hashes are stored)."""
    Meta = _meta("links")
    unit_key = UnicodeAttribute(hash_key=True)  # "<cid>#<unit>"
    slot = UnicodeAttribute(range_key=True)  # "<rid>#<purpose>"
    rid = UnicodeAttribute()
    purpose = UnicodeAttribute()
    qid = UnicodeAttribute()
    q_version = NumberAttribute()
    group = UnicodeAttribute()
    email = UnicodeAttribute()
    full_name = UnicodeAttribute()
    agency = UnicodeAttribute(null=True)  # copied from the roster so progress is one Query
    position = UnicodeAttribute(null=True)
    ministry = UnicodeAttribute(null=True)  # a managing-ministry form: the ministry unit it evaluates, from the roster
    state = UnicodeAttribute()  # issued | sent | opened | submitted | bounced | failed
    token_hashes = ListAttribute(of=UnicodeAttribute, default=list)  # every live token (one per mail sent)
    queued_at = UTCDateTimeAttribute(null=True)  # last mail handed to the mail queue
    issued_run = UnicodeAttribute(null=True)  # the dispatch run that created the link
    queued_run = UnicodeAttribute(null=True)  # the dispatch run that last queued its invitation
    issued_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    last_mail_at = UTCDateTimeAttribute(null=True)
    reminders = NumberAttribute(default=0)
    problem = UnicodeAttribute(null=True)  # bounce or failure reason
    delivery = UnicodeAttribute(null=True)  # its last mail's fate: accepted, delivered, delayed, retrying, bounced …
    delivery_at = UTCDateTimeAttribute(null=True)
    no_mail = BooleanAttribute(null=True)  # the recipient reported our mail as spam: no more mail to this address
    # paradata for the integrity rules: the first interaction and the submit, with where they came from
    opened_at = UTCDateTimeAttribute(null=True)
    open_ip = UnicodeAttribute(null=True)
    open_ua = UnicodeAttribute(null=True)
    submitted_at = UTCDateTimeAttribute(null=True)
    submit_ip = UnicodeAttribute(null=True)
    submit_ua = UnicodeAttribute(null=True)
    seconds_spent = NumberAttribute(null=True)
    receipt = UnicodeAttribute(null=True)
    seen = UnicodeSetAttribute(null=True)  # "<ip> | <user agent>" of every interaction (drafts, submit)
    updated_at = UTCDateTimeAttribute()


class ResponseModel(Model):
    """Submitted answers, stored apart from who gave them: no respondent id, name or e-mail here."""
    Meta = _meta("responses")
    unit_key = UnicodeAttribute(hash_key=True)  # "<cid>#<unit>"
    response_id = UnicodeAttribute(range_key=True)  # random
    qid = UnicodeAttribute()
    q_version = NumberAttribute()
    group = UnicodeAttribute()
    purpose = UnicodeAttribute()
    answers = JSONAttribute()
    scores = JSONAttribute()
    submitted_at = UTCDateTimeAttribute()
    ministry = UnicodeAttribute(null=True)  # a managing-ministry form: the ministry unit it evaluates (never who)


class DraftModel(Model):
    """Answers saved as the respondent goes; deleted at submit, expire after the campaign."""
    Meta = _meta("drafts")
    link_key = UnicodeAttribute(hash_key=True)  # "<unit_key>|<slot>"
    answers = JSONAttribute()
    saved_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class TokenModel(Model):
    """token hash -> link. Several tokens may open one link (the invitation's and each reminder's)."""
    Meta = _meta("tokens")
    token_hash = UnicodeAttribute(hash_key=True)
    unit_key = UnicodeAttribute()
    slot = UnicodeAttribute()
    kind = UnicodeAttribute()
    issued_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class MailModel(Model):
    """Every message handed to the mail service, by its message id (bounces and complaints refer to it)."""
    Meta = _meta("mails")
    message_id = UnicodeAttribute(hash_key=True)
    unit_key = UnicodeAttribute()
    slot = UnicodeAttribute()
    kind = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()
    outcome = UnicodeAttribute(default="sent")
    detail = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    recipient = UnicodeAttribute(null=True)  # the address it went to (preflight and notices: no link to say it)
    attempt = NumberAttribute(default=1)  # 1, then 2 … for the same link's mail sent again after transient bounces
    preflight = UnicodeAttribute(null=True)  # the preflight it tests


class StatsModel(Model):
    """Counters kept on write: links by current state, per unit ("all") and per "<group>#<purpose>".
    Under an assessed ministry's unit key, one item per "<province>#<group>": the managing-ministry forms that
    province's respondents of that group were given about the ministry (`asked`) and sent back (`answered`)."""
    Meta = _meta("stats")
    unit_key = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    issued = NumberAttribute(default=0)
    sent = NumberAttribute(default=0)
    opened = NumberAttribute(default=0)
    submitted = NumberAttribute(default=0)
    bounced = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    reminders = NumberAttribute(default=0)
    asked = NumberAttribute(null=True)  # a ministry's counters (see above)
    answered = NumberAttribute(null=True)
    applied = UnicodeSetAttribute(null=True)  # keys of deltas applied once only (a retried dispatch job's)


class DispatchModel(Model):
    """One dispatch run started by the ministry, with its progress."""
    Meta = _meta("dispatches")
    cid = UnicodeAttribute(hash_key=True)
    run = UnicodeAttribute(range_key=True)  # "<ISO instant>#<random>", newest last
    started_by = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    units = JSONAttribute()
    units_done = NumberAttribute(default=0)
    links_issued = NumberAttribute(default=0)
    mails_queued = NumberAttribute(default=0)
    mails_sent = NumberAttribute(default=0)
    mails_failed = NumberAttribute(default=0)
    finished_at = UTCDateTimeAttribute(null=True)


class AddressChangeModel(Model):
    """A change of a respondent's address after dispatch: a province's direct correction of a failed delivery
    ("correction"), or its request with a reason that the ministry approves or refuses ("request"). Guard items
    (`sk` = "pending#<unit>#<rid>", no `kind`) hold one pending request per respondent."""
    Meta = _meta("address_changes")
    cid = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "<unit>#<ISO instant>#<random>", a unit's in time order
    unit = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)  # "correction" | "request"
    state = UnicodeAttribute(null=True)  # correction: "done"; request: "pending" | "approved" | "refused"
    rid = UnicodeAttribute(null=True)
    full_name = UnicodeAttribute(null=True)
    old_email = UnicodeAttribute(null=True)
    new_email = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    links = JSONAttribute(null=True)  # [{"slot", "state", "sent_at", "opened_at"}] when asked (or corrected)
    requested_by = UnicodeAttribute(null=True)
    requested_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)
    decision_note = UnicodeAttribute(null=True)
    reissued = JSONAttribute(null=True)  # slots re-issued to the new address, with the instant
    reissued_at = UTCDateTimeAttribute(null=True)


class DeliveryModel(Model):
    """What became of the mails, kept on every SES event (chalicelib/domain/delivery.py).

    scope "<cid>#<unit>": key "unit" (the unit's counters, and its pause), "domain#<mail domain>" (the domain's
    counters and its last outcome), "preflight" (the last preflight), "preflight#<id>#<address>" (one test mail's
    outcome). scope "account": key "totals" (every unit's counters) and "breaker" (the national stop).
    scope "retry": key "<ISO instant>#<unit_key>#<slot>" (a mail to send again then, after a transient bounce).
    scope "event#<message id>": key = the event's key (an event already applied; expires)."""
    Meta = _meta("delivery")
    scope = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    accepted = NumberAttribute(default=0)
    delivered = NumberAttribute(default=0)
    bounced = NumberAttribute(default=0)
    bounced_transient = NumberAttribute(default=0)
    complaints = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    delayed = NumberAttribute(default=0)
    policy_rejections = NumberAttribute(default=0)
    last_kind = UnicodeAttribute(null=True)
    last_diagnostic = UnicodeAttribute(null=True)
    last_status = UnicodeAttribute(null=True)
    last_recipient = UnicodeAttribute(null=True)
    last_at = UTCDateTimeAttribute(null=True)
    notified_at = UTCDateTimeAttribute(null=True)  # a domain's focal person told that it bounces
    stopped_at = UTCDateTimeAttribute(null=True)  # a unit paused, or the breaker tripped …
    stop = JSONAttribute(null=True)  # … why: {"reason", "figures"}
    resumed_at = UTCDateTimeAttribute(null=True)  # … and the ministry's resumption
    resumed_by = UnicodeAttribute(null=True)
    baseline = JSONAttribute(null=True)  # the counters at the last resumption: the guard judges what came after
    data = JSONAttribute(null=True)  # a retry's or a preflight's particulars
    expires_at = TTLAttribute(null=True)


class IntegrityModel(Model):
    """The last integrity scan of a unit: flags, risk score and evidence (ministry only)."""
    Meta = _meta("integrity")
    cid = UnicodeAttribute(hash_key=True)
    unit = UnicodeAttribute(range_key=True)
    score = NumberAttribute()
    flags = JSONAttribute()
    submitted = NumberAttribute()
    responses = NumberAttribute()
    activity = UnicodeAttribute()  # the unit's counters when scanned: unchanged means nothing new to scan
    scanned_at = UTCDateTimeAttribute()
    answer_counts = UnicodeAttribute(null=True)  # the unit's answers by view class (zlib + base64 JSON), for the
    # campaign's reference without reading every unit's responses
    score_counts = UnicodeAttribute(null=True)  # the unit's responses tallied for the results (zlib + base64 JSON),
    # kept by the scan that read them, so the results need not read them again


class AccountModel(Model):
    Meta = _meta("accounts")
    username = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()  # "ministry" | "province"
    unit = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    must_change_password = BooleanAttribute(default=True)
    password_changed_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class SessionsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_user"
        projection = KeysOnlyProjection()
    username = UnicodeAttribute(hash_key=True)


class SessionModel(Model):
    Meta = _meta("sessions")
    token_hash = UnicodeAttribute(hash_key=True)
    username = UnicodeAttribute()
    role = UnicodeAttribute()
    unit = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute()
    source_ip = UnicodeAttribute(null=True)
    must_change_password = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute(null=True)  # the last request, written at most once a minute
    expires_at = TTLAttribute()
    by_user = SessionsByUser()


class ThrottleModel(Model):
    """Attempt counters: the login throttle's (keys "login#pair#…", "login#addr#…", "login#acct#…", see
    chalicelib/domain/throttle.py) and the survey's unknown-token counters ("survey-miss:…")."""
    Meta = _meta("throttles")
    key = UnicodeAttribute(hash_key=True)
    failures = NumberAttribute(default=0)
    last_at = UTCDateTimeAttribute(null=True)  # the last counted attempt (the window runs from it)
    next_at = UTCDateTimeAttribute(null=True)  # no password verification for this key before this instant
    version = NumberAttribute(null=True)  # the condition of the next versioned write (missing = 0)
    refused = NumberAttribute(null=True)  # attempts answered "wait" (429) without reaching the password check
    expires_at = TTLAttribute(null=True)


class AuditByUnit(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_unit"
        projection = AllProjection()
    unit_key = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class AuditByActor(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_actor"
        projection = AllProjection()
    actor = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class AuditModel(Model):
    """Append-only: entries are only ever put with attribute_not_exists."""
    Meta = _meta("audit")
    month = UnicodeAttribute(hash_key=True)  # "2026-11" (UTC), keeps partitions bounded
    sk = UnicodeAttribute(range_key=True)  # "<ISO instant>#<random>"
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()
    role = UnicodeAttribute()
    unit_key = UnicodeAttribute()  # the unit acted on or acting, "-" when none
    action = UnicodeAttribute()
    target = UnicodeAttribute(null=True)
    cid = UnicodeAttribute(null=True)
    source_ip = UnicodeAttribute(null=True)
    details = JSONAttribute(null=True)
    by_unit = AuditByUnit()
    by_actor = AuditByActor()


class NotificationModel(Model):
    Meta = _meta("notifications")
    unit_key = UnicodeAttribute(hash_key=True)  # "<cid>#<unit>"
    sk = UnicodeAttribute(range_key=True)  # "<ISO instant>#<key>"
    at = UTCDateTimeAttribute()
    kind = UnicodeAttribute()
    title = UnicodeAttribute()
    message = UnicodeAttribute()


class QuestionnaireModel(Model):
    """One questionnaire of a campaign: qid = "<purpose>-<group>" ("locality-1", "ministry-2"). The current
    version only; `version` goes up by one on each change and a change is refused once `locked` (links sent)."""
    Meta = _meta("questionnaires")
    cid = UnicodeAttribute(hash_key=True)
    qid = UnicodeAttribute(range_key=True)
    purpose = UnicodeAttribute()  # "locality" | "ministry"
    group = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    version = NumberAttribute()
    sections = JSONAttribute()
    sample = BooleanAttribute(default=False)
    locked = BooleanAttribute(default=False)
    locked_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute()


class FrameworkModel(Model):
    """A campaign's scoring framework for one kind of unit (domain/framework.py), normalised; `version` goes up by one
    on each import. Keyed by the campaign's id for the provinces' framework, "<cid>#<kind>" for another kind's
    (store/assessment.framework_key)."""
    Meta = _meta("frameworks")
    cid = UnicodeAttribute(hash_key=True)
    definition = JSONAttribute()
    version = NumberAttribute()
    sample = BooleanAttribute(default=False)
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute()


class AssessmentModel(Model):
    """One unit's self-assessment as a whole: its state (draft → approved by the province's leadership, or locked
    at the deadline; the ministry may reopen it), the approval, and when the ministry published its appraisal.
    `revision` goes up with every change of a self-score, so an approval is of exactly what was checked."""
    Meta = _meta("assessments")
    cid = UnicodeAttribute(hash_key=True)
    unit = UnicodeAttribute(range_key=True)
    state = UnicodeAttribute(default="draft")  # draft | approved | locked
    revision = NumberAttribute(default=0)
    approval = JSONAttribute(null=True)
    approved_at = UTCDateTimeAttribute(null=True)
    locked_at = UTCDateTimeAttribute(null=True)
    reopened = JSONAttribute(null=True)  # [{"at", "by", "reason", "state"}]
    published_at = UTCDateTimeAttribute(null=True)
    published_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class AssessmentItemModel(Model):
    """One line of a unit's self-assessment: the province's score, note, evidence (or the explanation why there is
    none) and, beside it, the ministry's appraisal. Imported lines (SIPAS …) carry only the ministry's value."""
    Meta = _meta("assessment_items")
    unit_key = UnicodeAttribute(hash_key=True)  # "<cid>#<unit>"
    code = UnicodeAttribute(range_key=True)
    score = NumberAttribute(null=True)
    note = UnicodeAttribute(null=True)
    explanation = UnicodeAttribute(null=True)
    evidence = JSONAttribute(null=True)  # [{"id", "key", "filename", "size", "content_type", "uploaded_at"}]
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    appraisal_score = NumberAttribute(null=True)
    appraisal_comment = UnicodeAttribute(null=True)
    appraised_at = UTCDateTimeAttribute(null=True)
    appraised_by = UnicodeAttribute(null=True)


ALL_MODELS: list[type[Model]] = [CampaignModel, UnitModel, RespondentModel, LinkModel, ResponseModel, DraftModel,
                                 TokenModel, MailModel, DeliveryModel,
                                 StatsModel, DispatchModel, AddressChangeModel, IntegrityModel, AccountModel,
                                 SessionModel, ThrottleModel,
                                 AuditModel, NotificationModel,
                                 QuestionnaireModel, FrameworkModel, AssessmentModel, AssessmentItemModel]
