"""Import a 居民信息台账 from the command line: a preview unless --commit, a JSON report on request."""

import json
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q

from minqing.areas.models import Area, AreaLevel
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError
from minqing.registry.ledger.importer import plan_import, write_plan
from minqing.registry.ledger.reader import read_sheet


class Command(BaseCommand):
    help = "导入居民信息台账（.xlsx/.xls/.ods/.csv）；不加 --commit 时只预检"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--community", required=True, help="社区编码或名称")
        parser.add_argument("--commit", action="store_true", help="写入数据库（否则只预检）")
        parser.add_argument("--report", help="把逐行结果写成 JSON 文件")

    def handle(self, *args, file, community, commit, report, **options):
        area = Area.objects.active().filter(Q(code=community) | Q(name=community), level=AreaLevel.COMMUNITY).first()
        if area is None:
            raise CommandError(f"社区「{community}」不存在")
        started = time.monotonic()
        try:
            sheet = read_sheet(file)
            plan = plan_import(actor=None, community=area, sheet=sheet)
            if commit:
                with transaction.atomic():
                    write_plan(plan, actor=None, community=area)
                    summary = plan.summary
                    audit_record(
                        action="ledger.import",
                        target=area,
                        actor_name="manage.py import_residents",
                        data={"file": str(file), **{k: v for k, v in summary.items()}},
                    )
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None
        data = plan.report()
        if report:
            with open(report, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, indent=1)
        s = data["summary"]
        self.stdout.write(
            f"{'已导入' if commit else '预检'} {area.name}：{s['rows']} 行，新增 {s['created']}，更新 {s['updated']}，"
            f"未变 {s['unchanged']}，重复 {s['duplicate']}，跳过 {s['skipped']}，拒绝 {s['refused']}，"
            f"{s['households']} 户，新建地点 {s['new_places']} 项，用时 {time.monotonic() - started:.1f} 秒"
        )
