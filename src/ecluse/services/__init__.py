"""The application layer: what every channel (CLI, HTTPS, SFTP, the console to come) asks of
the product, performed the same way whichever channel asks. A service takes the caller's
Principal (authenticated by the channel through `access`), checks the permission, owns its
transaction, writes its audit event in it, and audits a refusal. Channels import this package,
`ecluse.errors` and `ecluse.config` only (`make lint` enforces it); the types they need come
from `vocabulary`.

- `access`: identify a caller, permit an act, audit a refusal.
- `governance`: agreements and instructions. `packages`: runs, inbox and outbox, recipient
  keys, SFTP transfer events. `delivery`: opening, downloading, receipts, revocation,
  deadlines. `extraction`: a run from its checks to its package or its failure. `recovery`:
  runs cut short. `quarantine`: an SFTP upload's source.
- `identity`, `credentials`, `lifecycle`, `tenancy`, `approvals`, `step_up`, `typed`, `ssh`:
  organisations, accounts, logins, tokens, credentials, second factors, SSH logins.
- `supervision`: alerts, security contacts and reports, metrics; `alerting`: raising,
  answering and escalating an alert with its audit event, for every service. `reports`:
  migration and supervision reports, sign-off. `breach`: tracing a leaked sample.
- `host`: the host-level verbs (init, status, keys, schema, worker, supervision, demo, TLS);
  `setup`: initialising an instance and its self-check; `trail`: the audit trail's
  host-level verbs.
- What acts as the system itself: `worker` (deadlines, retention, time to live, recovery,
  checkpoints) and `watch` (the detectors' runner, the probes, the outbox's dispatch, the
  supervision loop, the metrics).
"""
