"""The Rasa server's lock store: Rasa's Redis lock store with every change to a lock made in one
Redis transaction.

endpoints.yml names it (``LOCK_STORE_TYPE=common.lock_store.AtomicRedisLockStore``). Rasa's
RedisLockStore reads a conversation's ticket lock, changes it in the server's memory and writes
it back. Two servers that take two messages of one conversation at the same moment (a customer
who sends two messages quickly, through a balancer) can both read the lock before either writes:
both draw ticket 0, both are served at once, and the second to save finds the first one's events
already stored and stores none of its own (seen in tests/e2e/test_scale_out.py: a message the
customer was answered, missing from the tracker store). Freeing a ticket has the same race and
can drop a ticket another server has just drawn. Here each change is read, made and written
under WATCH/MULTI, and made again when another server changed the lock in between.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

Result = TypeVar("Result")


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime))
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, TicketLock.remove_expired_tickets)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # One transaction: Rasa's check for waiting tickets and the deletion that follows are
        # two steps, between which another server may draw a ticket that the deletion drops.
        self.finish_serving(conversation_id, ticket_number)

    def _change(self, conversation_id: str, change: Callable[[TicketLock], Result]) -> Result:
        """Applies ``change`` to the stored lock; a lock left without tickets is deleted."""
        key = self.key_prefix + conversation_id

        def attempt(pipe: redis.client.Pipeline) -> Result:
            stored = pipe.get(key)
            lock = (
                TicketLock.from_dict(json.loads(stored))
                if stored
                else self.create_lock(conversation_id)
            )
            result = change(lock)
            lock.remove_expired_tickets()
            pipe.multi()
            if lock.tickets:
                pipe.set(key, lock.dumps())
            else:
                pipe.delete(key)
            return result

        return self.red.transaction(attempt, key, value_from_callable=True)
