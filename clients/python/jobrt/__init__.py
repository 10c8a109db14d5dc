"""jobrt producer client: enqueue jobs to jobrt queues (wire format v1,
docs/protocol.md), read their outcome records, list and re-drive dead
letters. Depends on redis-py only.

    from jobrt import Client
    with Client("redis://127.0.0.1:6379") as jobs:
        r = jobs.enqueue("emails", "invoice_email", 1, {"invoice_id": "INV-1"})
        record = jobs.wait("emails", r.id)
"""

from .client import Client, DeadLetter, EnqueueResult, RetryResult

__version__ = "0.1.0"
__all__ = ["Client", "DeadLetter", "EnqueueResult", "RetryResult",
           "__version__"]
