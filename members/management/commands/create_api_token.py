from django.core.management.base import BaseCommand, CommandError

from engage.core.errors import DomainError
from members.accounts.services import api_token_create, user_by_login


class Command(BaseCommand):
    help = "Create an API token for USERNAME (or mobile number or email) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="device", help="A label for the token, e.g. the scanner's name.")

    def handle(self, *args, username, name, **options):
        try:
            user = user_by_login(username)
            _, plaintext = api_token_create(user=user, name=name)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(plaintext)
