"""The hub: one subpackage per capability, wired together by `hub.app`.

`db` (tables, SQL helpers), `ingest` (submission), `delivery` (push, pull,
redrive), `tracking` (statuses, recall, traces), `eventlog` (the hash chain),
`reports`, `ops` (health, metrics, logging), then the faces: `api` (HTTP
routes), `ui` (the dashboard) and `cli`. `context` is how the faces reach a
running hub; `protocol` is the wire models members share.
"""
