"""Demo demands: one or more in every state of the lifecycle, taken there step by step through the
services (so every event and deadline is what a real demand would have), in 嘉和社区 and, for the
scope tests' other side, in 恒大社区."""

import datetime

from django.utils import timezone

from minqing.accounts.models import User
from minqing.registry.models import Resident
from minqing.tickets import lifecycle, services
from minqing.tickets.models import Category

# (category, channel, text, reporter username, place, steps: (actor username or "resident", action, extra))
D, W = "dispatch", "whistle"
SCENARIOS = [
    ("楼道堆物", "liaison", "3号楼2单元楼道堆放纸箱杂物，影响通行", "liaison1", "liaison", []),
    ("下水堵塞", "phone", "厨房下水道堵塞，污水倒灌", "staff1", "liaison", [("staff1", "accept", {})]),
    ("停电", "visit", "单元楼道灯和电梯停电两天", "grid1", "grid",
     [("staff1", "accept", {}), ("staff1", D, {"department": "D-POWER"})]),
    ("路灯损坏", "desk", "小区东门路灯不亮，夜间出行不便", "staff1", "grid",
     [("staff1", "accept", {}), ("staff1", D, {"department": "D-POWER"}), ("dept1", "start", {})]),
    ("电动车楼道充电", "grid_patrol", "5号楼一层有电动车飞线充电", "grid1", "grid",
     [("grid1", "accept", {}), ("grid1", "handle", {"note": "已劝导住户拆除飞线，改到充电桩充电"})]),
    ("垃圾清运", "desk", "东区垃圾站三天未清运，气味很大", "staff1", "grid",
     [("staff1", "accept", {}), ("staff1", "handle", {"note": "已联系环卫清运完毕"}), ("staff1", "close", {})]),
    ("漏水渗水", "phone", "楼上卫生间漏水渗到我家天花板", "staff1", "liaison",
     [("staff1", "accept", {}), ("staff1", "handle", {"note": "协调楼上住户维修防水层"}), ("staff1", "close", {}),
      ("resident", "evaluate", {"rating": "satisfied", "comment": "处理及时"})]),
    ("路灯损坏", "phone", "3号楼后面路灯坏了", "staff1", "grid",
     [("staff1", "accept", {}), ("staff1", D, {"department": "D-POWER"}),
      ("dept1", "return", {"note": "该路灯属园林所管护，请改派"})]),
    ("消防通道堵塞", "grid_patrol", "消防通道长期被私家车占用", "grid1", "grid",
     [("grid1", "escalate", {"note": "涉及多家住户车辆，需社区协调物业"})]),
    ("绿化养护", "desk", "小区中心花园大树枯枝随时可能掉落", "staff1", "grid",
     [("staff1", "accept", {}), ("staff1", W, {"departments": ["D-PARKS", "D-POWER"], "note": "树枝压着电线"})]),
    ("水压不足", "phone", "高层住户水压不足，早晚用水困难", "staff1", "grid",
     [("staff1", "accept", {}), ("staff1", "suspend", {"note": "等待二次供水改造方案"})]),
    ("楼道堆物", "desk", "楼道堆物（与前一件同一处）", "staff1", "liaison",
     [("staff1", "merge", {"into": 0, "note": "与第一件是同一处楼道"})]),
    ("政策咨询", "desk", "咨询非本辖区户口能否办理居住证", "staff1", "grid",
     [("staff1", "reject", {"note": "不属于社区受理范围，已告知到派出所办理"})]),
    ("井盖缺失", "phone", "小区北门井盖缺失", "staff1", "grid",
     [("staff1", "accept", {}), ("staff1", "handle", {"note": "已补装井盖"}), ("staff1", "close", {}),
      ("resident", "evaluate", {"rating": "unsatisfied", "comment": "补的井盖不合适，还在晃"})]),
    # The other side of the boundary: 恒大社区.
    ("停车管理", "desk", "小区内乱停车堵住单元门", "staff2", "other", [("staff2", "accept", {})]),
    ("下水堵塞", "phone", "一楼下水返水", "staff2", "other",
     [("staff2", "accept", {}), ("staff2", D, {"department": "D-PARKS"})]),
]  # fmt: skip


def build(users: dict[str, User]) -> int:
    from minqing.accounts.models import Department

    departments = {d.code: d.pk for d in Department.objects.all()}
    liaison_home = users["liaison1"].dwellings.order_by("pk").first()
    resident = Resident.objects.filter(dwelling=liaison_home).first()
    received = timezone.now() - datetime.timedelta(days=3)
    created = []
    for category, channel, text, reporter, place, steps in SCENARIOS:
        actor = users[reporter]
        where = {}
        if place == "liaison":
            where = {"dwelling": liaison_home.pk}
        ticket = services.ticket_create(
            actor=actor,
            category=Category.objects.get(name=category),
            channel=channel,
            description=text,
            received_at=received,
            reporter_resident=resident if place == "liaison" else None,
            reporter_name="" if place == "liaison" else "王女士",
            reporter_phone="" if place == "liaison" else "13947712345",
            **where,
        )
        created.append(ticket)
        for who, action, extra in steps:
            params = dict(extra)
            note = params.pop("note", "")
            if "department" in params:
                params["department"] = departments[params["department"]]
            if "departments" in params:
                params["departments"] = [departments[c] for c in params["departments"]]
            if "into" in params:
                params["into"] = created[params["into"]].number
            step_actor = lifecycle.RESIDENT if who == "resident" else users[who]
            services.ticket_act(actor=step_actor, number=ticket.number, action=action, note=note, **params)
    return len(created)
