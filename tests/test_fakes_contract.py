"""The in-memory fakes of tests/fakes.py kept to the store contract: the cases of tests/test_store_contract.py
that need one store or index (not two instances racing on a database) run against MemorySessionStore and
MemoryMediaIndex, so a service test on the fakes sees the rules the real stores keep."""

from __future__ import annotations

import pytest

from fakes import MemoryMediaIndex, MemorySessionStore
from interviewai.domain.ports import MediaIndex, SessionStore
from test_store_contract import (
    test_a_failed_entry_is_taken_over_by_the_next_claimant,
    test_a_save_from_a_stale_version_raises_and_writes_nothing,
    test_a_second_claimant_does_not_own_a_live_claim,
    test_a_stale_claim_is_taken_over_keeping_the_provider_job,
    test_claim_by_insert_owns_a_new_key,
    test_expire_marks_tombstones_drops_content_and_forgets_old_tombstones,
    test_get_unknown_session_is_none,
    test_invalidate_turns_a_ready_entry_into_a_failed_one,
    test_mark_ready_publishes_a_claimed_entry,
    test_mark_ready_stores_a_key_nobody_claimed,
    test_only_the_owner_keeps_a_claim_alive,
    test_options_and_a_follow_up_round_trip,
    test_release_deletes_only_the_owners_pending_claim,
    test_save_persists_changes_and_bumps_the_version,
)

# Collected here with this module's fixtures. Left out: the round trip of every field (the SQL store turns any
# time zone into UTC; the fake keeps the objects it was given) and every case of two instances on one database.
CONTRACT = (
    test_get_unknown_session_is_none,
    test_save_persists_changes_and_bumps_the_version,
    test_a_save_from_a_stale_version_raises_and_writes_nothing,
    test_expire_marks_tombstones_drops_content_and_forgets_old_tombstones,
    test_options_and_a_follow_up_round_trip,
    test_claim_by_insert_owns_a_new_key,
    test_a_second_claimant_does_not_own_a_live_claim,
    test_a_stale_claim_is_taken_over_keeping_the_provider_job,
    test_a_failed_entry_is_taken_over_by_the_next_claimant,
    test_only_the_owner_keeps_a_claim_alive,
    test_mark_ready_publishes_a_claimed_entry,
    test_mark_ready_stores_a_key_nobody_claimed,
    test_release_deletes_only_the_owners_pending_claim,
    test_invalidate_turns_a_ready_entry_into_a_failed_one,
)


@pytest.fixture
def store() -> SessionStore:
    return MemorySessionStore()


@pytest.fixture
def index() -> MediaIndex:
    return MemoryMediaIndex()
