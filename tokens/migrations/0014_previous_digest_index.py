# The index of the cache-miss lookup by a rotated token's previous secret (tokens.auth), built
# without blocking writes to the token table (CONTRACT §14): in a migration of its own, outside
# a transaction.

from django.db import migrations, models

from web.migrating import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tokens", "0013_rotation_overlap"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="token",
            index=models.Index(
                condition=models.Q(("previous_digest__isnull", False)),
                fields=["previous_digest"],
                name="token_previous_digest_idx",
            ),
        ),
    ]
