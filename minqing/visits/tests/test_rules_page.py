"""关爱规则 (/visits/rules/): a community admin sets how often each tag's households must be seen and
who is responsible; the others in scope read the rules; another community's admin cannot touch them."""

import pytest

from minqing.accounts import services as accounts_services
from minqing.accounts.models import User
from minqing.core.models import AuditEntry
from minqing.visits.models import CarePlanRule
from minqing.visits.tests.factories import tag

pytestmark = pytest.mark.django_db


def _row(html: str, key) -> str:
    start = html.index(f'data-rule="{key}"')
    return html[start : html.index("</tr>", start)]


def test_the_admin_sets_a_rule_the_grid_worker_reads_it_and_it_can_go_back_to_the_default(client_as, persona):
    admin1 = persona("admin1")
    community = admin1.area
    alone = tag("独居老人")
    client = client_as("admin1")
    html = client.get("/visits/rules/").content.decode()
    assert "每 7 天" in _row(html, alone.pk) and "默认" in _row(html, alone.pk)
    assert "每 90 天" in _row(html, "all")  # every household

    response = client.post(
        "/visits/rules/",
        {"community": community.pk, "tag": alone.pk, "interval_days": "5", "responsible": "grid_worker"},
    )
    assert response.status_code == 302
    rule = CarePlanRule.objects.get(community=community, tag=alone)
    assert (rule.interval_days, rule.responsible) == (5, "grid_worker")
    html = client.get(response.url).content.decode()
    row = _row(html, alone.pk)
    assert "每 5 天" in row and "本社区" in row and "网格员" in row and "恢复默认" in row
    entry = AuditEntry.objects.filter(action="visit.care_rule_set").latest("pk")
    assert entry.data["before"] == {} and entry.data["interval_days"] == 5 and entry.data["community"] == community.pk
    assert "修改记录" in html and "独居老人 每 5 天" in html

    # The same values sent again change nothing and add no audit line.
    count = AuditEntry.objects.filter(action="visit.care_rule_set").count()
    client.post(
        "/visits/rules/",
        {"community": community.pk, "tag": alone.pk, "interval_days": "5", "responsible": "grid_worker"},
    )
    assert AuditEntry.objects.filter(action="visit.care_rule_set").count() == count

    # The grid worker reads the community's rule, without forms.
    grid_page = client_as("grid1").get("/visits/rules/").content.decode()
    assert "每 5 天" in _row(grid_page, alone.pk) and 'action="/visits/rules/' not in grid_page

    # Back to the default: the community's row is dropped, the shipped 7 days apply again.
    response = client.post("/visits/rules/reset/", {"community": community.pk, "tag": alone.pk})
    assert response.status_code == 302
    assert not CarePlanRule.objects.filter(community=community, tag=alone).exists()
    assert "每 7 天" in _row(client.get(response.url).content.decode(), alone.pk)
    assert AuditEntry.objects.filter(action="visit.care_rule_reset").latest("pk").data["before"]["interval_days"] == 5


def test_a_rule_for_a_tag_without_one(client_as, persona):
    community = persona("admin1").area
    veteran = tag("优抚对象")
    assert not CarePlanRule.objects.filter(tag=veteran).exists()
    client = client_as("admin1")
    html = client.get("/visits/rules/").content.decode()
    assert 'data-testid="add-rule"' in html and f'value="{veteran.pk}"' in html
    response = client.post(
        "/visits/rules/",
        {"add": "1", "community": community.pk, "tag": veteran.pk, "interval_days": "30", "responsible": "liaison"},
    )
    assert response.status_code == 302
    assert "每 30 天" in _row(client.get(response.url).content.decode(), veteran.pk)


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "走访周期应为 1–366 天"), ("400", "走访周期应为 1–366 天"), ("7.5", "请填写整数"), ("七", "")],
)
def test_a_bad_interval_is_refused_next_to_its_field(client_as, persona, value, message):
    community = persona("admin1").area
    alone = tag("独居老人")
    response = client_as("admin1").post(
        "/visits/rules/",
        {"community": community.pk, "tag": alone.pk, "interval_days": value, "responsible": "liaison"},
    )
    assert response.status_code == 400
    row = _row(response.content.decode(), alone.pk)
    assert 'class="errorlist' in row and message in row
    assert f'value="{value}"' in row  # what was typed stays there to correct
    assert not CarePlanRule.objects.filter(community=community, tag=alone).exists()


def test_a_tag_of_another_community_is_refused_naming_the_tag(client_as, persona):
    from minqing.registry import services as registry_services

    own = registry_services.tag_create(actor=persona("district1"), community=persona("staff2").area, name="恒大关注")
    form = {"community": persona("admin1").area_id, "tag": own.pk, "interval_days": "10", "responsible": "liaison"}
    response = client_as("admin1").post("/visits/rules/", form)
    assert response.status_code == 400 and "标签不存在" in response.content.decode()
    assert not CarePlanRule.objects.filter(tag=own).exists()


def test_a_bad_responsible_is_refused_next_to_its_field(client_as, persona):
    community = persona("admin1").area
    response = client_as("admin1").post(
        "/visits/rules/", {"community": community.pk, "tag": "", "interval_days": "60", "responsible": "mayor"}
    )
    assert response.status_code == 400
    row = _row(response.content.decode(), "all")
    assert 'class="errorlist' in row and "mayor" in row  # Django names the choice that is not one
    assert not CarePlanRule.objects.filter(community=community, tag=None).exists()


def test_another_communitys_admin_cannot_touch_the_rules(client_as, persona):
    admin1, staff2 = persona("admin1"), persona("staff2")
    accounts_services.user_create(
        actor=persona("district1"),
        username="admin2",
        display_name="恒大书记",
        role="community_admin",
        password="Passw0rd!2026-rules",
        area=staff2.area,
    )
    # Signed in as admin1 is in the demo: no second factor to enrol, the first password changed.
    User.objects.filter(username="admin2").update(mfa_exempt=True, must_change_password=False)
    alone = tag("独居老人")
    client = client_as("admin2")
    assert client.get("/visits/rules/").status_code == 200  # their own
    assert client.get(f"/visits/rules/?community={admin1.area_id}").status_code == 404
    form = {"community": admin1.area_id, "tag": alone.pk, "interval_days": "3", "responsible": "liaison"}
    assert client.post("/visits/rules/", form).status_code == 404
    CarePlanRule.objects.create(community=admin1.area, tag=alone, interval_days=6, responsible="liaison")
    assert client.post("/visits/rules/reset/", {"community": admin1.area_id, "tag": alone.pk}).status_code == 404
    assert CarePlanRule.objects.get(community=admin1.area, tag=alone).interval_days == 6
    assert not AuditEntry.objects.filter(action__startswith="visit.care_rule", actor__username="admin2").exists()


def test_staff_read_only_liaison_without_sensitive_names_department_403(client_as, persona):
    from minqing.visits import services

    community = persona("admin1").area
    watched = tag("重点人员")  # a sensitive tag
    services.care_rule_set(
        actor=persona("admin1"), community=community, tag=watched, interval_days=3, responsible="liaison"
    )
    staff = client_as("staff1")
    html = staff.get("/visits/rules/").content.decode()
    assert "重点人员" in _row(html, watched.pk) and 'data-testid="add-rule"' not in html
    form = {"community": community.pk, "tag": watched.pk, "interval_days": "9", "responsible": "liaison"}
    assert staff.post("/visits/rules/", form).status_code == 403
    assert staff.post("/visits/rules/reset/", {"community": community.pk, "tag": watched.pk}).status_code == 403
    liaison = client_as("liaison1").get("/visits/rules/").content.decode()
    row = _row(liaison, watched.pk)
    assert "关爱对象" in row and "每 3 天" in row and "重点人员" not in liaison
    assert client_as("dept1").get("/visits/rules/").status_code == 403


def test_district_staff_set_the_defaults_and_pick_a_community(client_as, persona):
    admin1 = persona("admin1")
    client = client_as("district1")
    html = client.get("/visits/rules/").content.decode()
    assert "默认规则" in html and 'data-testid="community-filter"' in html
    response = client.post(
        "/visits/rules/", {"community": "", "tag": "", "interval_days": "60", "responsible": "liaison"}
    )
    assert response.status_code == 302
    assert CarePlanRule.objects.get(community=None, tag=None).interval_days == 60
    history = client.get("/visits/rules/").content.decode()
    assert "全部住户 每 60 天" in history[history.index('data-testid="rule-history"') :]
    assert "每 60 天" in _row(client.get(f"/visits/rules/?community={admin1.area_id}").content.decode(), "all")
    # A community admin's page is their community: without one named, the form sets the
    # community's own rule, never the shipped default.
    form = {"community": "", "tag": "", "interval_days": "30", "responsible": "liaison"}
    assert client_as("admin1").post("/visits/rules/", form).status_code == 302
    assert CarePlanRule.objects.get(community=None, tag=None).interval_days == 60
    assert CarePlanRule.objects.get(community=admin1.area, tag=None).interval_days == 30
