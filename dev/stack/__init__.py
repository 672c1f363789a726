"""The local stack, one module per part; `make run` (dev/run_local.py) and the tests assemble the same parts.

- env: free ports, the processes' environment (never a real AWS identity), loading the chalice app.
- motoserver: moto's server on 127.0.0.1 with a ChangeTracker that watches the write traffic, so snapshots can skip
  what did not change and freeze writes for a consistent cut; the local SES sending rate.
- persistence: snapshot/restore of every DynamoDB table and S3 bucket through the public AWS APIs only, written
  atomically (a `kill -9` mid-snapshot leaves the last good snapshot in place).
- mail: every mail sent through SES becomes one .eml file in .local/outbox/.
- site: the static site, a generated /config.js and the outbox page /outbox/ (Jinja2 templates in templates/).
- workers: the scheduled handlers on a timer and the SQS handlers fed from their queues (a subprocess, so a
  crashing handler never takes the launcher down).
- cli: `python -m dev.stack --help` (workers, moto, snapshot, restore).

Everything is re-exported here: `from dev.stack import SiteServer` keeps working."""
from __future__ import annotations

from .env import (
    DEFAULT_REGION, EXPORT_BUCKET, FAKE_CREDENTIALS, ROOT, SNAPSHOT_FORMAT, _boto_client, aws_environment,
    child_environment, free_port, install_parent_watchdog, load_chalice_app, parse_env_pairs, port_is_free,
    quiet_logging, stage_environment, wait_for_http,
)
from .motoserver import (
    ChangeTracker, Changes, LOCAL_SES_RATE_DEFAULT, MotoServer, local_ses_rate, serialise_dynamodb,
    use_local_ses_rate,
)
from .persistence import (
    Persistence, SnapshotResult, _write_durable, restore, snapshot,
)
from .mail import (
    CapturedMail, DataJsonMailSource, InProcessMailSource, OutboxWriter,
)
from .site import (
    SiteHandler, SiteServer, outbox_list_page, outbox_mail_page, render, site_headers,
)
from .workers import (
    QueueRunner, Scheduler, run_workers, scheduled_event, sqs_event, sqs_sources,
)
from .cli import (
    main,
)

__all__ = [
    'DEFAULT_REGION', 'EXPORT_BUCKET', 'FAKE_CREDENTIALS', 'ROOT', 'SNAPSHOT_FORMAT', '_boto_client',
    'aws_environment', 'child_environment', 'free_port', 'install_parent_watchdog', 'load_chalice_app',
    'parse_env_pairs', 'port_is_free', 'quiet_logging', 'stage_environment', 'wait_for_http', 'ChangeTracker',
    'Changes', 'LOCAL_SES_RATE_DEFAULT', 'MotoServer', 'local_ses_rate', 'serialise_dynamodb',
    'use_local_ses_rate', 'Persistence', 'SnapshotResult', '_write_durable', 'restore', 'snapshot',
    'CapturedMail', 'DataJsonMailSource', 'InProcessMailSource', 'OutboxWriter', 'SiteHandler', 'SiteServer',
    'outbox_list_page', 'outbox_mail_page', 'render', 'site_headers', 'QueueRunner', 'Scheduler', 'run_workers',
    'scheduled_event', 'sqs_event', 'sqs_sources', 'main',
]
