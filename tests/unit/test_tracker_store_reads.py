"""Reading a conversation costs the same however long the customer's history is: the store finds
the latest session's events through indexes, and they are exactly the events Rasa's own query
finds."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from common.tracker_store import StrictSQLTrackerStore

SENDERS = ("customer:C00001", "customer:C00002")

# One stored event: whose it is, its type, and its timestamp (Rasa's are not always in id
# order: an action server's clock stamps some of them).
stored_event = st.tuples(
    st.sampled_from(SENDERS),
    st.sampled_from(["session_started", "action", "user", "bot", "slot"]),
    st.floats(min_value=1_000.0, max_value=1_100.0, allow_nan=False),
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> StrictSQLTrackerStore:
    database = tmp_path_factory.mktemp("reads") / "tracker.db"
    return StrictSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{database}")


def replace_events(store: StrictSQLTrackerStore, rows: list[tuple[str, str, float]]) -> None:
    with store.session_scope() as session:
        session.query(store.SQLEvent).delete()
        session.add_all(
            store.SQLEvent(sender_id=sender, type_name=kind, timestamp=stamp, data="{}")
            for sender, kind, stamp in rows
        )
        session.commit()


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(stored_event, max_size=40), all_sessions=st.booleans())
def test_the_same_events_in_the_same_order_as_rasas_query(
    store: StrictSQLTrackerStore, rows: list[tuple[str, str, float]], all_sessions: bool
) -> None:
    replace_events(store, rows)
    with store.session_scope() as session:
        for sender in SENDERS:
            ours = store._event_query(session, sender, all_sessions)
            rasas = SQLTrackerStore._event_query(store, session, sender, all_sessions)
            assert [row.id for row in ours.all()] == [row.id for row in rasas.all()]
            assert ours.count() == rasas.count()


def test_a_long_history_is_not_read_through(store: StrictSQLTrackerStore) -> None:
    history = [(SENDERS[0], "user", 1_000.0 + n) for n in range(3_000)]
    replace_events(store, [*history, (SENDERS[0], "session_started", 5_000.0)])
    with store.session_scope() as session:
        query = store._event_query(session, SENDERS[0], fetch_events_from_all_sessions=False)
        statement = query.statement.compile(
            dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        plan = session.execute(sa.text(f"EXPLAIN QUERY PLAN {statement}")).all()
        assert query.count() == 1
    # The session's events are found as a range of the (sender, timestamp) index, not by
    # going through the sender's 3,000 earlier events.
    assert any(
        "ix_events_sender_id_timestamp (sender_id=? AND timestamp>?)" in step[-1] for step in plan
    ), plan
