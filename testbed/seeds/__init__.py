"""Tenants and tokens seeded inside a portal process (testbed.throwaway.run_in_portal)."""
