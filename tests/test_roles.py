from tenants.models import Role


def test_role_values_are_the_contract_names():
    assert Role.values == ["full_admin", "security_operator", "security_reader"]


def test_deprovisioning_keeps_the_user_row(operator):
    operator.deprovision()
    operator.refresh_from_db()
    assert not operator.is_active
    assert operator.is_deprovisioned and operator.deprovisioned_at is not None
