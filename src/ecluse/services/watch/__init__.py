"""The watch: the supervision that runs by itself, as the system's own actor.

`runner` feeds the audit stream to the detectors (`ecluse.supervision.detectors`) and raises
what they find; `probes` checks what the stream cannot show (the chain, the key manager, the
store's disk, the certificate); `dispatch` delivers the alerts' outbox and the checkpoints to
the sinks; `loop` runs all three on `ecluse serve`; `metrics` is the Prometheus exposition.
Each owns its transactions and writes its audit events, like every service; the detectors,
alert records, contacts and sinks they use are domain modules below.
"""
