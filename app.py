"""The Chalice app: registers blueprints, schedules and queue handlers. No logic lives here."""
from chalice import Chalice, Rate

from chalicelib.api import (assessment, auth, campaigns, dispatch, integrity, mail, progress, questionnaires,
                            responses, roster, survey, system, units)
from chalicelib.config import settings

app = Chalice(app_name="cchc")
app.api.binary_types.extend(roster.BINARY)

for blueprint in (system.bp, auth.bp, campaigns.bp, units.bp, roster.bp, dispatch.bp, questionnaires.bp, survey.bp,
                  progress.bp, integrity.bp, responses.bp, assessment.bp, mail.bp):
    app.register_blueprint(blueprint)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="close-phases")
def close_phases(event):
    """Announce closed phases to their units and lock the self-assessments still open at their deadline (the
    phase locks themselves are enforced on every write)."""
    from chalicelib.runtime import runtime
    from chalicelib.services import assessment as assessment_service
    from chalicelib.services import campaigns as campaign_service

    now = runtime.now()
    # Lock before announcing: a crash in between only repeats the lock attempt, which then changes nothing.
    locked = assessment_service.lock_open_assessments(now, runtime.random_bytes)
    return {"announced": campaign_service.close_due_phases(now, runtime.random_bytes, locked)}


@app.schedule(Rate(1, unit=Rate.HOURS), name="auto-reminders")
def auto_reminders(event):
    """On the campaign's configured days before the survey deadline, remind everyone who has not answered."""
    from chalicelib.runtime import runtime
    from chalicelib.services import dispatch as dispatch_service

    return {"units": dispatch_service.auto_reminders(runtime.now(), runtime.random_bytes)}


@app.schedule(Rate(30, unit=Rate.MINUTES), name="integrity-scan")
def integrity_scan(event):
    """Incremental integrity scan of every campaign whose survey is running."""
    from chalicelib.runtime import runtime
    from chalicelib.services import integrity as integrity_service

    return {"units": integrity_service.scheduled_scan(runtime.now())}


@app.on_sqs_message(queue=settings().jobs_queue, batch_size=1, name="jobs")
def run_jobs(event):
    """One unit's dispatch or reminders per message; a failure leaves the message for SQS to deliver again."""
    import json

    from chalicelib.runtime import runtime
    from chalicelib.services import dispatch as dispatch_service

    for record in event:
        dispatch_service.run_job(json.loads(record.body), runtime.now(), runtime.random_bytes)


@app.on_sqs_message(queue=settings().mail_queue, batch_size=1, maximum_concurrency=2, name="mail")
def send_mail(event):
    """Send a batch of rendered mails at the account's rate."""
    import json

    from chalicelib.runtime import runtime
    from chalicelib.services import mailing

    for record in event:
        mailing.send_batch(json.loads(record.body), runtime.now)


@app.on_sns_message(topic=settings().mail_events_topic, name="mail-events")
def mail_events(event):
    """Every SES event about a mail: counters, the mail's link, the preflight, the reputation guard."""
    from chalicelib.runtime import runtime
    from chalicelib.services import mailing

    return {"result": mailing.handle_mail_event(event.message, runtime.now(), runtime.random_bytes)}


@app.schedule(Rate(5, unit=Rate.MINUTES), name="mail-guard")
def mail_guard(event):
    """Send again the mails whose transient bounce's wait is over; trip the national breaker on SES's statistics."""
    from chalicelib.runtime import runtime
    from chalicelib.services import delivery, retries

    now = runtime.now()
    return {"resent": retries.retry_due(now, runtime.random_bytes), **delivery.scheduled(now, runtime.random_bytes)}


settings()  # fail fast on bad configuration at cold start
