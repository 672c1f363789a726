"""The Chalice app: registers blueprints, schedules and queue handlers. No logic lives here."""
from chalice import Chalice, Rate

from chalicelib import observability as obs
from chalicelib.api import (assessment, auth, campaigns, dispatch, integrity, mail, progress, questionnaires,
                            responses, roster, survey, system, units)
from chalicelib.config import settings

app = Chalice(app_name="cchc", configure_logs=False)  # chalicelib.observability owns the "cchc" logger
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

    with obs.job("close-phases", event.event_id) as outcome:
        now = runtime.now()
        # Lock before announcing: a crash in between only repeats the lock attempt, which then changes nothing.
        locked = assessment_service.lock_open_assessments(now, runtime.random_bytes)
        outcome["announced"] = campaign_service.close_due_phases(now, runtime.random_bytes, locked)
    return outcome


@app.schedule(Rate(1, unit=Rate.HOURS), name="auto-reminders")
def auto_reminders(event):
    """On the campaign's configured days before the survey deadline, remind everyone who has not answered."""
    from chalicelib.runtime import runtime
    from chalicelib.services import dispatch as dispatch_service

    with obs.job("auto-reminders", event.event_id) as outcome:
        outcome["units"] = dispatch_service.auto_reminders(runtime.now(), runtime.random_bytes)
    return outcome


@app.schedule(Rate(30, unit=Rate.MINUTES), name="integrity-scan")
def integrity_scan(event):
    """Incremental integrity scan of every campaign whose survey is running."""
    from chalicelib.runtime import runtime
    from chalicelib.services import integrity as integrity_service

    with obs.job("integrity-scan", event.event_id) as outcome:
        outcome["units"] = integrity_service.scheduled_scan(runtime.now())
    return outcome


@app.on_sqs_message(queue=settings().jobs_queue, batch_size=1, name="jobs")
def run_jobs(event):
    """One unit's dispatch or reminders per message; a failure leaves the message for SQS to deliver again."""
    import json

    from chalicelib.runtime import runtime
    from chalicelib.services import dispatch as dispatch_service

    for record in event:
        body = json.loads(record.body)
        with obs.queue_job(str(body.get("type")), record.to_dict(), body, campaign=body.get("cid"),
                           unit=body.get("unit")) as outcome:
            outcome.update(dispatch_service.run_job(body, runtime.now(), runtime.random_bytes) or {})


@app.on_sqs_message(queue=settings().mail_queue, batch_size=1, maximum_concurrency=2, name="mail")
def send_mail(event):
    """Send a batch of rendered mails at the account's rate."""
    import json

    from chalicelib.runtime import runtime
    from chalicelib.services import mailing

    for record in event:
        body = json.loads(record.body)
        with obs.queue_job(f"send_{body.get('kind')}", record.to_dict(), body, campaign=body.get("cid")) as outcome:
            outcome.update(mailing.send_batch(body, runtime.now))


@app.on_sns_message(topic=settings().mail_events_topic, name="mail-events")
def mail_events(event):
    """Every SES event about a mail: counters, the mail's link, the preflight, the reputation guard."""
    from chalicelib.runtime import runtime
    from chalicelib.services import mailing

    message_id = ((event.to_dict().get("Records") or [{}])[0].get("Sns") or {}).get("MessageId")
    with obs.job("mail_event", message_id) as outcome:
        outcome["result"] = mailing.handle_mail_event(event.message, runtime.now(), runtime.random_bytes)
    return outcome


@app.schedule(Rate(5, unit=Rate.MINUTES), name="mail-guard")
def mail_guard(event):
    """Send again the mails whose transient bounce's wait is over; trip the national breaker on SES's statistics."""
    from chalicelib.runtime import runtime
    from chalicelib.services import delivery, retries

    with obs.job("mail-guard", event.event_id) as outcome:
        now = runtime.now()
        outcome.update({"resent": retries.retry_due(now, runtime.random_bytes),
                        **delivery.scheduled(now, runtime.random_bytes)})
    return outcome


settings()  # fail fast on bad configuration at cold start
