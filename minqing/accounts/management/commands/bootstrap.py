import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from minqing.accounts.services import deployment_bootstrap
from minqing.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Start a production deployment: create the district (root of the area tree) and its first district "
        "staff account. The password comes from MINQING_BOOTSTRAP_PASSWORD or is asked for."
    )

    def add_arguments(self, parser):
        parser.add_argument("--district-code", required=True)
        parser.add_argument("--district-name", required=True)
        parser.add_argument("--username", required=True)
        parser.add_argument("--display-name", default="")

    def handle(self, *args, **options):
        password = os.environ.get("MINQING_BOOTSTRAP_PASSWORD") or getpass.getpass("Password: ")
        try:
            user = deployment_bootstrap(
                district_code=options["district_code"],
                district_name=options["district_name"],
                username=options["username"],
                display_name=options["display_name"],
                password=password,
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from None
        self.stdout.write(
            f"Created {user.area.name} ({user.area.code}) and district staff account {user.username}. "
            "Sign in and enrol the second factor (TOTP) at the first sign-in."
        )
