from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cases.demo import seed_bulk, seed_stories


class Command(BaseCommand):
    help = "Load synthetic demo data: ~20 story cases with demo logins, or --cases N bulk cases for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=0, help="Also generate N bulk synthetic cases.")
        parser.add_argument("--no-stories", action="store_true", help="Only the bulk cases (no demo logins).")
        parser.add_argument(
            "--allow-demo-logins",
            action="store_true",
            help="Create demo logins even with DEBUG off (never on a real deployment).",
        )

    def handle(self, *args, cases: int, no_stories: bool, allow_demo_logins: bool, **options):
        if cases < 0:
            raise CommandError("--cases must be zero or more.")
        if not no_stories:
            if not settings.DEBUG and not allow_demo_logins:
                raise CommandError(
                    "Demo logins have well-known passwords: run with DJANGO_DEBUG=1 or pass "
                    "--allow-demo-logins on a throwaway database."
                )
            result = seed_stories()
            self.stdout.write(self.style.SUCCESS(f"Demo stories: {result['cases']} new case(s)."))
            self.stdout.write("Demo logins (synthetic data only):")
            for role, (username, password) in result["logins"].items():
                self.stdout.write(f"  {role:<12} {username:<16} {password}")
        if cases:
            made = seed_bulk(count=cases)
            self.stdout.write(self.style.SUCCESS(f"Bulk: {made} synthetic case(s)."))
