"""Passwords: production hashes with argon2's default settings; the tests hash with the cheapest ones."""

import pytest
from argon2 import PasswordHasher, extract_parameters, profiles

from crm.staff.service import create_staff


def _hash_parameters(session):
    staff = create_staff(
        session, email="hash@example.com", password="correct horse battery", display_name="Hash", role="staff"
    )
    return extract_parameters(staff.password_hash)


@pytest.mark.real_hasher
def test_production_hashes_with_argon2_defaults(session):
    defaults = PasswordHasher()
    parameters = _hash_parameters(session)
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        defaults.time_cost,
        defaults.memory_cost,
        defaults.parallelism,
    )
    assert parameters.memory_cost >= 65536  # what argon2 recommends (RFC 9106), not a test setting


def test_tests_hash_with_the_cheapest_settings(session):
    parameters = _hash_parameters(session)
    assert parameters.memory_cost == profiles.CHEAPEST.memory_cost
    assert parameters.time_cost == profiles.CHEAPEST.time_cost
