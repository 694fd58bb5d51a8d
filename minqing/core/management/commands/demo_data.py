from django.core.management.base import BaseCommand
from django.db import transaction

from minqing.accounts import demo as accounts_demo
from minqing.areas import demo as areas_demo
from minqing.areas.models import Area
from minqing.registry import demo as registry_demo
from minqing.tickets import demo as tickets_demo
from minqing.visits import demo as visits_demo


class Command(BaseCommand):
    help = "Fill an empty database with the demo district, places and accounts (demo only)."

    def handle(self, *args, **options):
        if Area.objects.exists():
            self.stdout.write("The database already has data; demo data not loaded again.")
            return
        with transaction.atomic():
            nodes = areas_demo.build()
            users = accounts_demo.build(nodes)
            counts = registry_demo.build(nodes, users)
            tickets = tickets_demo.build(users)
            visits = visits_demo.build(users)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(
            f"Demo residents: {counts['residents']} ({counts['active']} living here) "
            f"in {counts['households']} households, {counts['tags']} care tags."
        )
        self.stdout.write(f"Demo demands: {tickets}, one or more in every state of the lifecycle.")
        self.stdout.write(f"Demo visits: {visits}; 今日走访 lists households due today and overdue.")
        self.stdout.write(f"Demo accounts (password {accounts_demo.DEMO_PASSWORD}, demo only):")
        for name in ("grid1", "liaison1", "staff1", "admin1", "street1", "dept1", "district1"):
            user = users[name]
            self.stdout.write(f"  {name:<10} {user.get_role_display()} · {user.display_name}")
