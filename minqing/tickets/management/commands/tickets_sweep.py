from django.core.management.base import BaseCommand

from minqing.tickets.services import deadline_sweep, ticket_figures_refresh, whistle_sweep


class Command(BaseCommand):
    help = (
        "Mark demands due within 24 hours (临期) and past their deadline (超期), each once, and tell of "
        "units called in (吹哨) that missed their check-in; then refresh the figures' cube for the past "
        "months a step touched since the last run."
    )

    def handle(self, *args, **options):
        counts = deadline_sweep()
        late = whistle_sweep()
        self.stdout.write(f"临期 {counts['due_soon']}，超期 {counts['overdue']}，吹哨超时未报到 {late}")
        months = ticket_figures_refresh()
        self.stdout.write(f"统计月份 {len(months)}")
