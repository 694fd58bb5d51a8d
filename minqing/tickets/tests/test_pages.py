"""The demand pages as a liaison, a grid worker, staff and a department use them: intake, the queues,
a demand's page and its steps, bulk steps and the 常用回复. Demands are made through the services."""

import datetime
import io
import re

import pytest
from django.utils import timezone

from minqing.accounts.models import Department
from minqing.core.models import AuditEntry
from minqing.tickets import replies, services
from minqing.tickets.models import Category, DeadlineMark, ReplyTemplate, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def leaf(name="路灯损坏") -> Category:
    return Category.objects.get(name=name)


def report(actor, description="楼下路灯不亮", **kwargs) -> Ticket:
    kwargs.setdefault("category", leaf())
    kwargs.setdefault("channel", "desk")
    return services.ticket_create(actor=actor, description=description, **kwargs)


NUMBER = re.compile(r"MQ\d{8}-\d{4}")


# Intake -------------------------------------------------------------------------------------------


def test_a_liaison_reports_from_their_dwelling_and_sees_the_number_and_deadlines(persona, client_as):
    liaison = persona("liaison1")
    home = liaison.dwellings.order_by("pk").first()
    client = client_as("liaison1")
    form = text(client.get("/tickets/new/"))
    assert 'value="liaison" selected' in form  # the channel a liaison reports through
    assert "实际接收时间" not in form  # only staff enter a paper note's time
    response = client.post(
        "/tickets/new/",
        {
            "category": leaf("楼道堆物").pk,
            "channel": "liaison",
            "urgency": "normal",
            "description": "2单元楼道堆满纸箱",
            "dwelling": home.pk,
            "reporter_name": "周大爷",
            "reporter_phone": "13947700001",
        },
        follow=True,
    )
    ticket = Ticket.objects.get(description="2单元楼道堆满纸箱")
    html = text(response)
    assert response.redirect_chain[-1][0] == f"/tickets/{ticket.number}/"
    assert f"已登记，编号 {ticket.number}。" in html
    assert ticket.channel == "liaison" and ticket.dwelling == home and ticket.created_by == liaison
    assert timezone.localtime(ticket.finish_due_at).strftime("%Y-%m-%d %H:%M") in html
    assert "139****0001" in html and "13947700001" not in html


def test_staff_enter_the_time_a_paper_note_was_received_and_deadlines_count_from_it(persona, client_as):
    received = timezone.localtime() - datetime.timedelta(days=1)
    client = client_as("staff1")
    assert 'value="desk" selected' in text(client.get("/tickets/new/"))
    response = client.post(
        "/tickets/new/",
        {
            "category": leaf("停电").pk,
            "channel": "visit",
            "urgency": "normal",
            "description": "昨天走访记下：5号楼停电",
            "received_at": received.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    ticket = Ticket.objects.get(description="昨天走访记下：5号楼停电")
    assert response.status_code == 302
    assert timezone.localtime(ticket.received_at).strftime("%Y-%m-%d %H:%M") == received.strftime("%Y-%m-%d %H:%M")
    # 供电供水 accepts within 4 hours of receipt, not of registration.
    assert ticket.accept_due_at == ticket.received_at + datetime.timedelta(hours=4)
    assert ticket.accept_due_at < timezone.now()
    assert ticket.area == persona("staff1").area  # no place chosen: the user's own area


def test_a_received_time_in_the_future_is_refused_naming_the_field(client_as):
    later = timezone.localtime() + datetime.timedelta(hours=3)
    response = client_as("staff1").post(
        "/tickets/new/",
        {
            "category": leaf().pk,
            "channel": "desk",
            "urgency": "normal",
            "description": "未来的时间",
            "received_at": later.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 400
    html = text(response)
    assert "接收时间不能晚于现在。" in html
    # Shown at the field: its error list sits in the received_at field group.
    group = html[html.index('for="id_received_at"') :]
    assert group.index("接收时间不能晚于现在。") < group.index('id="id_received_at"')
    assert not Ticket.objects.filter(description="未来的时间").exists()


def test_a_building_out_of_scope_is_not_offered_nor_accepted(persona, client_as):
    from minqing.areas.models import Building

    other = Building.objects.exclude(grid__path__startswith=persona("staff1").area.path).first()
    client = client_as("staff1")
    html = text(client.get("/tickets/new/"))
    offered = html[html.index('id="id_building"') :]
    offered = offered[: offered.index("</select>")]
    assert '<option value="' in offered and f'<option value="{other.pk}"' not in offered
    response = client.post(
        "/tickets/new/",
        {"category": leaf().pk, "channel": "desk", "urgency": "normal", "description": "越界", "building": other.pk},
    )
    assert response.status_code == 400 and not Ticket.objects.filter(description="越界").exists()
    assert "选择一个有效的选项" in text(response) or "不在管辖范围内" in text(response)


def test_choosing_a_building_lists_its_dwellings_and_the_reporter_search_finds_residents(persona, client_as):
    from minqing.areas.models import Building
    from minqing.registry import services as registry

    staff = persona("staff1")
    building = Building.objects.filter(grid__path__startswith=staff.area.path, dwellings__isnull=False).first()
    dwelling = building.dwellings.first()
    registry.resident_create(actor=staff, data={"name": "韩梅梅"}, dwelling=dwelling)
    client = client_as("staff1")
    before = Ticket.objects.count()
    html = text(client.post("/tickets/new/", {"_refresh": "1", "building": building.pk, "reporter_q": "韩梅"}))
    assert f'<option value="{dwelling.pk}"' in html
    assert "韩梅梅" in html
    assert Ticket.objects.count() == before  # a refresh stores nothing


def test_a_department_cannot_register(client_as):
    assert client_as("dept1").get("/tickets/new/").status_code == 403


# Queues and the list --------------------------------------------------------------------------------


def test_the_departments_queue_holds_what_was_dispatched_to_it(persona, client_as):
    staff = persona("staff1")
    power = Department.objects.get(code="D-POWER")
    sent = report(staff, "电表箱冒烟")
    services.ticket_act(actor=staff, number=sent.number, action="accept")
    services.ticket_act(actor=staff, number=sent.number, action="dispatch", department=power.pk)
    kept = report(staff, "只受理未派单")
    services.ticket_act(actor=staff, number=kept.number, action="accept")
    mine = text(client_as("dept1").get("/tickets/"))
    assert sent.number in mine and kept.number not in mine
    staff_queue = text(client_as("staff1").get("/tickets/?tab=mine"))
    assert kept.number in staff_queue and sent.number not in staff_queue


def test_the_list_filters_by_number_text_status_and_overdue(persona, client_as):
    staff = persona("staff1")
    late = report(staff, "三天前的下水堵塞", received_at=timezone.now() - datetime.timedelta(days=20))
    fresh = report(staff, "刚登记的路灯")
    client = client_as("staff1")
    assert fresh.number in text(client.get("/tickets/", {"tab": "all", "q": fresh.number}))
    assert late.number not in text(client.get("/tickets/", {"tab": "all", "q": fresh.number}))
    found = text(client.get("/tickets/", {"tab": "all", "q": "三天前"}))
    assert late.number in found and fresh.number not in found
    overdue = text(client.get("/tickets/", {"tab": "all", "due": "overdue"}))
    assert late.number in overdue and fresh.number not in overdue
    row = overdue[overdue.index(f'data-ticket="{late.number}"') :]
    assert row.index("超期") < row.index("</li>")
    closed = text(client.get("/tickets/", {"tab": "all", "status": "closed"}))
    assert late.number not in closed


def test_a_supervisor_looks_into_a_units_queue(persona, client_as):
    staff = persona("staff1")
    parks = Department.objects.get(code="D-PARKS")
    t = report(staff, "枯树枝")
    services.ticket_act(actor=staff, number=t.number, action="accept")
    services.ticket_act(actor=staff, number=t.number, action="dispatch", department=parks.pk)
    html = text(client_as("admin1").get("/tickets/", {"tab": "all", "department": parks.pk, "status": "open"}))
    assert t.number in html
    assert not {n for n in NUMBER.findall(html)} - set(
        Ticket.objects.filter(department=parks).values_list("number", flat=True)
    )


# A demand and its steps ---------------------------------------------------------------------------


def test_the_demand_page_shows_the_timeline_with_internal_notes_marked(persona, client_as):
    staff = persona("staff1")
    t = report(staff, "电梯困人", reporter_name="李女士", reporter_phone="13900001111")
    services.ticket_act(actor=staff, number=t.number, action="note", note="已电话安抚")
    html = text(client_as("staff1").get(f"/tickets/{t.number}/"))
    timeline = html[html.index('data-testid="timeline"') :]
    assert "登记" in timeline and "内部备注" in timeline and "已电话安抚" in timeline
    note_row = timeline[timeline.index('data-action="note"') :]
    assert note_row.index("内部") < note_row.index("</li>")
    assert "139****1111" in html and "13900001111" not in html
    for label in ("受理", "上报", "不予受理", "合并"):
        assert f">{label}</a>" in html


def test_the_demand_page_shows_the_sweeps_overdue_mark_on_the_timeline(persona, client_as):
    staff = persona("staff1")
    t = report(staff, "井盖松动")
    Ticket.objects.filter(pk=t.pk).update(finish_due_at=timezone.now() - datetime.timedelta(hours=1))
    services.deadline_sweep()
    assert not TicketEvent.objects.filter(ticket=t, action="overdue").exists()  # no row: from the stamp
    marked = timezone.localtime(DeadlineMark.objects.get(ticket=t, kind="overdue").at).strftime("%Y-%m-%d %H:%M")
    html = text(client_as("staff1").get(f"/tickets/{t.number}/"))
    timeline = html[html.index('data-testid="timeline"') :]
    row = timeline[timeline.index('data-action="overdue"') :]
    row = row[: row.index("</li>")]
    assert "超期" in row and "内部" in row and "系统" in row and marked in row


def test_a_forbidden_step_shows_the_error_and_changes_nothing(persona, client_as):
    t = report(persona("staff1"), "越权受理")
    events = TicketEvent.objects.filter(ticket=t).count()
    client = client_as("liaison1")
    t.dwelling = persona("liaison1").dwellings.first()  # in the liaison's sight
    Ticket.objects.filter(pk=t.pk).update(dwelling=t.dwelling)
    assert ">受理</a>" not in text(client.get(f"/tickets/{t.number}/"))  # no button for it
    response = client.post(f"/tickets/{t.number}/accept/", {"note": ""})
    assert "当前角色不能对诉求执行“受理”。" in text(response)
    t.refresh_from_db()
    assert t.status == "registered" and TicketEvent.objects.filter(ticket=t).count() == events


def test_a_step_that_needs_a_note_says_so_and_a_dispatch_goes_to_the_unit_chosen(persona, client_as):
    staff = persona("staff1")
    t = report(staff, "井盖松动")
    client = client_as("staff1")
    client.post(f"/tickets/{t.number}/accept/", {"note": ""})
    assert "“不予受理”须填写说明。" in text(client.post(f"/tickets/{t.number}/reject/", {"note": " "}))
    power = Department.objects.get(code="D-POWER")
    response = client.post(f"/tickets/{t.number}/dispatch/", {"department": power.pk, "note": "请尽快"})
    assert response.status_code == 302
    t.refresh_from_db()
    assert t.status == "dispatched" and t.department == power
    assert client_as("dept1").get(f"/tickets/{t.number}/").status_code == 200


def test_a_demand_out_of_scope_is_not_found(persona, client_as):
    t = report(persona("staff2"), "恒大的事")
    client = client_as("staff1")
    assert client.get(f"/tickets/{t.number}/").status_code == 404
    assert client.post(f"/tickets/{t.number}/accept/").status_code == 404
    t.refresh_from_db()
    assert t.status == "registered"


# Bulk steps -----------------------------------------------------------------------------------------


def test_bulk_dispatch_reports_each_demand_and_takes_the_ones_that_can(persona, client_as):
    staff = persona("staff1")
    power = Department.objects.get(code="D-POWER")
    ready = [report(staff, f"批量{i}") for i in range(2)]
    for t in ready:
        services.ticket_act(actor=staff, number=t.number, action="accept")
    not_accepted = report(staff, "还没受理")
    foreign = report(persona("staff2"), "别的社区")
    numbers = [t.number for t in ready] + [not_accepted.number, foreign.number]
    response = client_as("staff1").post(
        "/tickets/bulk/", {"action": "dispatch", "department": power.pk, "numbers": numbers}
    )
    html = text(response)
    assert response.status_code == 200
    assert "成功 2 件，未成功 2 件" in html
    for t in ready:
        t.refresh_from_db()
        assert t.status == "dispatched" and t.department == power
        assert TicketEvent.objects.filter(ticket=t, action="dispatch").count() == 1
        assert f'data-number="{t.number}" data-ok="1"' in html
    row = html[html.index(f'data-number="{not_accepted.number}"') :]
    assert 'data-ok="0"' in row[:60] and "诉求当前为“已登记”，不能派单。" in row[: row.index("</li>")]
    row = html[html.index(f'data-number="{foreign.number}"') :]
    assert "未找到该记录" in row[: row.index("</li>")]
    not_accepted.refresh_from_db()
    foreign.refresh_from_db()
    assert not_accepted.status == "registered" and foreign.status == "registered"


def test_bulk_steps_are_for_staff(client_as):
    assert client_as("grid1").post("/tickets/bulk/", {"action": "accept", "numbers": ["x"]}).status_code == 403


# 常用回复 -------------------------------------------------------------------------------------------


def test_reply_templates_are_kept_per_community_and_offered_on_the_steps(persona, client_as):
    admin = persona("admin1")
    client = client_as("admin1")
    response = client.post(
        "/tickets/replies/new/", {"title": "已转供电", "text": "已转民安供电公司处理，请耐心等待。", "action": ""}
    )
    assert response.status_code == 302
    own = ReplyTemplate.objects.get(title="已转供电")
    assert own.community == admin.area
    assert AuditEntry.objects.filter(action="reply_template.create", target_id=str(own.pk)).exists()
    # Another community's template: never seen here.
    theirs = ReplyTemplate.objects.create(community=persona("staff2").area, title="恒大专用", text="恒大")
    district = replies.reply_template_create(actor=persona("district1"), title="全区通用", text="感谢反映")
    page = text(client.get("/tickets/replies/"))
    assert "已转供电" in page and "全区通用" in page and "恒大专用" not in page
    assert client_as("admin1").post(f"/tickets/replies/{theirs.pk}/retire/").status_code == 404
    assert client_as("admin1").post(f"/tickets/replies/{district.pk}/retire/").status_code == 403
    assert client_as("staff1").get("/tickets/replies/").status_code == 403

    t = report(persona("staff1"), "路灯又坏了")
    step = text(client_as("staff1").get(f"/tickets/{t.number}/note/"))
    assert 'data-text="已转民安供电公司处理，请耐心等待。"' in step and "恒大专用" not in step
    assert "全区通用" in step

    client.post(f"/tickets/replies/{own.pk}/retire/")
    own.refresh_from_db()
    assert own.retired_at is not None
    assert "已转供电" not in text(client_as("staff1").get(f"/tickets/{t.number}/note/"))


def test_the_list_costs_the_same_queries_for_more_rows(persona, client_as):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from minqing.areas.models import Dwelling

    staff = persona("staff1")
    client = client_as("staff1")

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/tickets/", {"tab": "all"}).status_code == 200
        return len(captured)

    before = count()
    dwellings = Dwelling.objects.filter(building__grid__path__startswith=staff.area.path).order_by("pk")[:5]
    for i, dwelling in enumerate(dwellings):
        report(staff, f"查询预算{i}", dwelling=dwelling.pk)
    assert count() == before


def test_photos_come_with_the_report_and_with_a_step_and_show_on_the_timeline(persona, client_as, settings, tmp_path):
    from PIL import Image

    from minqing.tickets.tests.photo_files import GPS_IFD, phone_jpeg

    settings.MEDIA_ROOT = tmp_path
    grid = client_as("grid1")
    grid.post(
        "/tickets/new/",
        {
            "category": leaf("电动车楼道充电").pk,
            "channel": "grid_patrol",
            "urgency": "normal",
            "description": "一楼楼道有电动车飞线充电",
            "photos": [phone_jpeg("现场1.jpg"), phone_jpeg("现场2.jpg")],
        },
    )
    ticket = Ticket.objects.get(description="一楼楼道有电动车飞线充电")
    assert ticket.attachments.count() == 2
    grid.post(f"/tickets/{ticket.number}/accept/", {"note": ""})
    grid.post(
        f"/tickets/{ticket.number}/handle/",
        {"note": "已劝导住户拆除飞线", "photos": [phone_jpeg("整改后.jpg")]},
    )
    ticket.refresh_from_db()
    assert ticket.status == "handled"
    handled = ticket.events.get(action="handle")
    assert handled.attachments.count() == 1

    page = text(grid.get(f"/tickets/{ticket.number}/"))
    thumbs = re.findall(r'src="(/tickets/photos/(\d+)/thumb/)"', page)
    assert len(thumbs) == 3
    # What the page serves is the cleaned photo: no location, no camera.
    served = grid.get(f"/tickets/photos/{thumbs[0][1]}/")
    image = Image.open(io.BytesIO(b"".join(served.streaming_content)))
    assert not image.getexif().get_ifd(GPS_IFD)
    # Another community's staff cannot open them.
    assert client_as("staff2").get(f"/tickets/photos/{thumbs[0][1]}/").status_code == 404


def test_a_file_that_is_not_a_photo_is_refused_on_the_intake_form_and_nothing_is_stored(client_as):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = Ticket.objects.count()
    response = client_as("grid1").post(
        "/tickets/new/",
        {
            "category": leaf().pk,
            "channel": "grid_patrol",
            "urgency": "normal",
            "description": "路灯不亮",
            "photos": [SimpleUploadedFile("路灯.jpg", b"not a picture at all", content_type="image/jpeg")],
        },
    )
    assert response.status_code == 400
    assert "路灯.jpg" in text(response)
    assert Ticket.objects.count() == before


def test_a_misrouted_demand_is_rerouted_with_a_reason_and_the_timeline_keeps_both_units(persona, client_as):
    staff = persona("staff1")
    power, parks = Department.objects.get(code="D-POWER"), Department.objects.get(code="D-PARKS")
    t = report(staff, "小区树枝压着路灯线")
    services.ticket_act(actor=staff, number=t.number, action="accept")
    services.ticket_act(actor=staff, number=t.number, action="dispatch", department=power.pk)
    client = client_as("staff1")
    assert "改派" in text(client.get(f"/tickets/{t.number}/"))
    form = text(client.get(f"/tickets/{t.number}/reroute/"))
    assert 'name="restart_deadline"' in form and "checked" in form[form.index('name="restart_deadline"') - 80 :][:200]
    refused = client.post(f"/tickets/{t.number}/reroute/", {"department": parks.pk, "note": ""})
    assert "须填写说明" in text(refused)
    t.refresh_from_db()
    assert t.department == power
    client.post(
        f"/tickets/{t.number}/reroute/",
        {"department": parks.pk, "restart_deadline": "on", "note": "树木归园林所管护"},
    )
    t.refresh_from_db()
    assert (t.status, t.department) == ("dispatched", parks)
    page = text(client.get(f"/tickets/{t.number}/"))
    line = page[page.index('data-action="reroute"') :][:800]
    assert "民安供电公司" in line and parks.name in line and "办结期限重新计算" in line and "树木归园林所管护" in line


def test_staff_see_a_similar_open_demand_at_the_same_building_and_merge_into_it(persona, client_as):
    staff = persona("staff1")
    building = persona("liaison1").dwellings.order_by("pk").first().building
    first = report(staff, "3单元楼道堆放纸箱杂物", category=leaf("楼道堆物"), building=building.pk)
    again = report(staff, "3单元楼道里堆了很多纸箱", category=leaf("楼道堆物"), building=building.pk)
    other = report(staff, "东门路灯不亮", building=building.pk)
    client = client_as("staff1")
    page = text(client.get(f"/tickets/{again.number}/"))
    similar = page[page.index('data-testid="similar"') :]
    assert f'data-number="{first.number}"' in similar and other.number not in similar
    merge_form = text(client.get(f"/tickets/{again.number}/merge/?into={first.number}"))
    assert f'value="{first.number}"' in merge_form
    client.post(f"/tickets/{again.number}/merge/", {"into": first.number, "note": "同一处楼道"})
    again.refresh_from_db()
    assert (again.status, again.merged_into_id) == ("merged", first.pk)
