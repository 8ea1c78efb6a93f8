"""Adapters for sources of reported stock levels: the pull client over HTTP, and storage of
source configuration and of when each level was last reported."""
