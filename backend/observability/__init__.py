"""Observability (可观测性): structured logs with a request id, Prometheus metrics, and the
numbers an operator watches (request rates and latencies, job runs and lags, outbox and
follow-up backlogs, the ledger check). Infrastructure, not a domain: it reads domains
only through their public service functions, at scrape time."""
