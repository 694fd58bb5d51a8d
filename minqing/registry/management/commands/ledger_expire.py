from django.core.management.base import BaseCommand

from minqing.registry.ledger.retention import ledger_uploads_expire


class Command(BaseCommand):
    help = "Delete ledger uploads never confirmed and workbooks of refused rows older than MINQING_IMPORT_KEEP_DAYS."

    def handle(self, *args, **options):
        counts = ledger_uploads_expire()
        self.stdout.write(f"删除未确认的台账 {counts['uploads']} 个，错误行文件 {counts['error_files']} 个")
