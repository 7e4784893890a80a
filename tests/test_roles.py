import pytest

from tenants.models import Role


@pytest.mark.parametrize(
    ("role", "can_write", "sees_all"),
    [
        (Role.FULL_ADMIN, True, True),
        (Role.SECURITY_OPERATOR, True, False),
        (Role.SECURITY_READER, False, False),
    ],
)
def test_each_role_has_its_contract_rules(role, can_write, sees_all):
    assert role.can_write is can_write
    assert role.sees_all_tokens is sees_all


def test_role_values_are_the_contract_names():
    assert Role.values == ["full_admin", "security_operator", "security_reader"]


def test_a_user_writes_according_to_its_current_role(operator):
    assert operator.can_write
    operator.set_role(Role.SECURITY_READER)
    operator.refresh_from_db()
    assert not operator.can_write


def test_a_deprovisioned_user_may_not_write(full_admin):
    full_admin.deprovision()
    assert not full_admin.can_write
    assert full_admin.is_deprovisioned
    assert full_admin.deprovisioned_at is not None


def test_deprovisioning_keeps_the_user_row(operator):
    operator.deprovision()
    operator.refresh_from_db()
    assert not operator.is_active
