"""Delivery: the only code that talks to Slack, SMTP servers, webhooks and the terminal.

Owns: sending rendered digests (``monitor.render`` builds the payloads) and translating each
transport's errors into :class:`monitor.errors.DeliveryError`. Must not import store,
pipeline, outbox, scheduler or cli.
"""
