"""Webhook deliveries: the durable outbox (rows written with the change they announce) and the
httpx sender that posts them, signed, to the purchasing system."""
