"""Fan-out of change events to subscribers: encode's broadcaster with its measured defects fixed."""

from adapters.broadcast.redis_backend import (
    BroadcastUnavailableError,
    RedisPubSubBackend,
    StreamGap,
)
from adapters.broadcast.safe_broadcast import (
    BoundedSubscriber,
    SafeBroadcast,
    SubscriberOverflowError,
    make_broadcast,
)

__all__ = [
    "BoundedSubscriber",
    "BroadcastUnavailableError",
    "RedisPubSubBackend",
    "SafeBroadcast",
    "StreamGap",
    "SubscriberOverflowError",
    "make_broadcast",
]
