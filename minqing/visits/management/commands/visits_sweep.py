from django.core.management.base import BaseCommand

from minqing.visits.due import household_due_sweep


class Command(BaseCommand):
    help = (
        "Count the kept due dates (今日走访) of households with none yet and of those a member's birthday "
        "makes stale (an age threshold such as 高龄 reached); run every few minutes by the scheduler."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"应走访日期已更新 {household_due_sweep()} 户")
