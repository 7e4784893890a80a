import unicodedata

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from tenants.models import Tenant, slug_validator
from tenants.services import tenant_save
from web.commands import PortalCommand, validation_message


class Command(PortalCommand):
    help = "Create a tenant and print its custom URL."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="DNS label: lowercase letters, digits, hyphens")
        parser.add_argument("--name", required=True, help="display name")
        parser.add_argument("--region", default="us")

    def handle(self, *args, slug, name, region, **options):
        try:
            slug_validator(slug)
        except ValidationError as error:
            raise CommandError(validation_message(error)) from None
        if Tenant.objects.filter(slug=slug).exists():
            raise CommandError(f"A tenant with slug {slug!r} already exists.")
        if any(unicodedata.category(char).startswith("C") for char in name):
            # The name is printed by commands and shown on pages: no terminal escapes in it.
            raise CommandError("A tenant name cannot contain control or invisible characters.")
        tenant = Tenant(slug=slug, name=name.strip(), region=region)
        try:
            tenant.full_clean()
        except ValidationError as error:
            raise CommandError(validation_message(error)) from None
        tenant_save(tenant=tenant)
        self.stdout.write(tenant.custom_url)
