"""Importing messy paper ledgers: each case the issue names, in a small file the test writes itself."""

import datetime
import json
import pickle

import pytest
from django.core.management import call_command
from python_calamine import CalamineWorkbook

from minqing.areas.models import Area, Building, Dwelling, Estate
from minqing.core.models import AuditEntry
from minqing.registry.ledger import forked, importer, kept
from minqing.registry.ledger import services as ledger
from minqing.registry.ledger.importer import plan_import, write_plan
from minqing.registry.ledger.reader import read_sheet
from minqing.registry.models import ImportStatus, Resident, ResidentTag
from minqing.registry.tests.ledger_files import excel_row, id_number, write_csv, write_xlsx, wrong_check

pytestmark = pytest.mark.django_db

JIAHE = "150603001001"
HENGDA = "150603002001"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

ZHANG = id_number("19500302", 1)  # ends in X
LI = "15060319520506038X"
WANG = id_number("19480715", 7)
HEADER = ["序号", "居民姓名", "性别", "公民身份号码", "出生日期", "手机号码", "现住址", "与户主关系", "人员类别"]


def messy_rows():
    spaced = " ".join([ZHANG[:6], ZHANG[6:14], ZHANG[14:]]).translate(FULL_WIDTH)
    return [
        [
            1,
            " 张  杰 ",
            "男",
            spaced,
            datetime.date(1950, 3, 2),
            "138-0013-8000",
            "嘉和苑1号楼1单元101室",
            "户主",
            "独居老人、低保",
        ],
        [2, "李 娜", "女", LI.lower(), "1952年5月6日", "0477-8123456", "嘉和苑1号楼1单元101室", "妻子", "无"],
        [
            3,
            "王五",
            "",
            WANG,
            ("serial", 17729),
            "13900139000",
            "嘉和苑 1号楼 1单元 102",
            "户主",
            "残疾（肢体2级），高龄",
        ],
        [],
        [5, "张杰", "男", ZHANG, "1950-03-02", "13800138000", "嘉和苑1号楼1单元101室", "户主", ""],
        [6, "赵六", "男", wrong_check(id_number("19600101", 3)), "", "", "嘉和苑1号楼1单元102室", "子", ""],
        [7, "钱七", "男", id_number("19600101", 4)[:17], "", "", "嘉和苑1号楼1单元102室", "子", ""],
        [8, "孙八", "男", 1.50603194503021e17, "", "", "嘉和苑1号楼1单元102室", "子", ""],
        [9, "周九", "男", id_number("19600101", 5), "1961-01-01", "", "嘉和苑1号楼1单元102室", "子", ""],
        [10, "", "男", id_number("19600101", 6), "", "", "嘉和苑1号楼1单元102室", "子", ""],
        [11, "吴十", "男", id_number("19600101", 8), "", "", "嘉和苑1号楼1单元102室", "子", "党员先锋"],
        ["合计", "", "", "", "", "", "", "", "10人"],
    ]  # fmt: skip


def _community(code=JIAHE) -> Area:
    return Area.objects.get(code=code)


def _run(path, *, actor=None, community=None, commit=False):
    community = community or _community()
    plan = plan_import(actor=actor, community=community, sheet=read_sheet(path))
    if commit:
        write_plan(plan, actor=actor, community=community)
    return plan


def _by_row(plan) -> dict[int, dict]:
    return {r.row: r.as_dict() for r in plan.results}


def test_messy_ledger_preview_names_each_refused_field(tmp_path, persona):
    path = write_xlsx(tmp_path / "台账.xlsx", HEADER, messy_rows())
    plan = _run(path, actor=persona("staff1"))
    first = excel_row()
    rows = _by_row(plan)
    assert [rows[first + i]["status"] for i in range(3)] == ["created"] * 3
    assert rows[first + 3]["status"] == "skipped"  # blank
    assert rows[first + 4]["status"] == "duplicate" and f"第 {first} 行" in rows[first + 4]["message"]
    check, length, rounded, mismatch, no_name, tag = (rows[first + i] for i in range(5, 11))
    assert (check["status"], check["field"]) == ("refused", "公民身份号码") and "校验位" in check["message"]
    assert (length["field"], "18 位" in length["message"]) == ("公民身份号码", True)
    assert rounded["field"] == "公民身份号码" and "Excel" in rounded["message"]
    assert mismatch["field"] == "出生日期" and "不符" in mismatch["message"]
    assert no_name["field"] == "居民姓名" and "姓名" in no_name["message"]
    assert tag["field"] == "人员类别" and "党员先锋" in tag["message"]
    assert rows[first + 11]["status"] == "skipped"  # 合计
    summary = plan.summary
    assert (summary["created"], summary["duplicate"], summary["refused"], summary["skipped"]) == (3, 1, 6, 2)
    assert summary["households"] == 2
    assert not Resident.objects.filter(name__in=["张杰", "李娜", "王五"]).exists()  # a preview writes nothing


def test_messy_ledger_commit_cleans_values_and_forms_households(tmp_path, persona):
    staff = persona("staff1")
    _run(write_xlsx(tmp_path / "台账.xlsx", HEADER, messy_rows()), actor=staff, commit=True)
    zhang, li, wang = (Resident.objects.get(name=n) for n in ("张杰", "李娜", "王五"))
    assert zhang.id_number == ZHANG and zhang.birth_date == datetime.date(1950, 3, 2)
    assert zhang.phone == "13800138000" and zhang.name_pinyin == "zhangjie"
    assert li.id_number == LI and li.birth_date == datetime.date(1952, 5, 6) and li.sex == "F"
    assert li.phone.startswith("0477") and li.relation == "spouse"
    assert wang.birth_date == datetime.date(1948, 7, 15)  # the serial number 17729
    assert zhang.household_id == li.household_id != wang.household_id
    assert str(zhang.dwelling) == "嘉和苑1号楼1单元101室"
    assert sorted(t.tag.name for t in zhang.tag_links.all()) == ["低保", "独居老人"]
    assert not li.tag_links.exists()
    disability = ResidentTag.objects.get(resident=wang)
    assert (disability.tag.name, disability.grade, disability.detail) == ("残疾", 2, "肢体")  # 高龄 ignored
    assert zhang.history.count() == 1 and zhang.history.first().history_user == staff
    assert zhang.events.get().note == "台账导入"


def test_commit_writes_each_new_record_a_creation_history_row_with_its_values(tmp_path, persona):
    staff = persona("staff1")
    new_room = [9, "孙八", "男", id_number("19700101", 9), "", "", "嘉和苑1号楼1单元909室", "户主", ""]
    _run(write_xlsx(tmp_path / "台账.xlsx", HEADER, [*messy_rows(), new_room]), actor=staff, commit=True)

    def as_recorded(r):
        return (r.name, r.id_number, r.phone, r.birth_date, r.sex, r.household_id, r.dwelling_id, r.relation)

    for resident in Resident.objects.filter(name__in=["张杰", "李娜", "王五", "孙八"]):
        (created,) = resident.history.all()
        assert (created.history_type, created.history_user) == ("+", staff)
        assert created.history_date == resident.created_at
        assert as_recorded(created) == as_recorded(resident)
    new_places = Dwelling.history.filter(history_user=staff, history_type="+")
    assert [place.room for place in new_places] == ["909"]  # the one room not registered yet
    for place in new_places:
        dwelling = Dwelling.objects.get(pk=place.id)
        assert (place.room, place.floor, place.building_id, place.unit_id) == (
            dwelling.room,
            dwelling.floor,
            dwelling.building_id,
            dwelling.unit_id,
        )
    household = Resident.objects.get(name="王五").household
    assert household.history.get().dwelling_id == household.dwelling_id


def test_same_file_twice_changes_nothing_and_an_updated_file_updates(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", HEADER, messy_rows())
    _run(path, commit=True)
    count = Resident.objects.count()
    again = _run(path, commit=True)
    assert (again.summary["created"], again.summary["unchanged"], again.summary["updated"]) == (0, 3, 0)
    assert Resident.objects.count() == count
    rows = messy_rows()
    rows[0][5] = "13700137000"
    rows[2][8] = "残疾（肢体3级）"
    changed = _run(write_xlsx(tmp_path / "b.xlsx", HEADER, rows), commit=True)
    result = _by_row(changed)
    assert result[excel_row()]["status"] == "updated" and "手机号码" in result[excel_row()]["message"]
    assert result[excel_row() + 2]["status"] == "updated" and "标签" in result[excel_row() + 2]["message"]
    assert Resident.objects.get(name="张杰").phone == "13700137000"
    assert ResidentTag.objects.get(resident__name="王五").grade == 3
    assert Resident.objects.count() == count


def test_split_address_columns_create_missing_places_in_the_named_grid(tmp_path):
    header = ["姓名", "身份证号", "联系电话", "小区", "楼栋", "单元", "房号", "网格", "与户主关系", "户号"]
    rows = [
        ["陈一", id_number("19700101", 11), "", "嘉和苑", "3", "2", "1302", "嘉和社区第1网格", "户主", ""],
        ["陈二", id_number("19720101", 12), "", "嘉和苑", "3栋", "二单元", "1302室", "", "配偶", ""],
        ["刘三", id_number("19800101", 13), "", "新建小区", "1", "1", "101", "150603001001-G02", "户主", ""],
        ["刘四", id_number("19800101", 14), "", "新建小区", "9", "1", "101", "", "户主", ""],
    ]
    path = write_xlsx(tmp_path / "split.xlsx", header, rows, title=None, filled_by=False)
    plan = _run(path)
    rows_out = _by_row(plan)
    assert rows_out[5]["status"] == "refused" and rows_out[5]["field"] == "楼栋"
    assert "未填写网格" in rows_out[5]["message"]
    assert any("新建小区1号楼" in name for name in plan.new_places)
    assert any("小区：新建小区" in name for name in plan.new_places)
    write_plan(plan, actor=None, community=_community())
    chen1, chen2 = Resident.objects.get(name="陈一"), Resident.objects.get(name="陈二")
    assert chen1.household_id == chen2.household_id and chen1.dwelling.room == "1302"
    assert chen1.dwelling.building.name == "3号楼" and chen1.dwelling.floor == 13
    liu = Resident.objects.get(name="刘三")
    assert liu.dwelling.building.grid.code == "150603001001-G02"
    assert Estate.objects.filter(name="新建小区", community__code=JIAHE).count() == 1
    assert not Building.objects.filter(estate__name="新建小区", name="9号楼").exists()


def test_csv_saved_by_wps_in_gbk_with_text_dates(tmp_path):
    header = ["姓名", "证件号码", "出生年月", "手机", "住址", "标签", "退役军人"]
    rows = [
        [
            "马一",
            id_number("19550302", 21),
            "1955.3.2",
            "139 0013 9001",
            "嘉和苑2号楼1单元201室",
            "空巢老人/独居老人",
            "是",
        ],
        ["马二", "", "19560401", "13900139002", "嘉和苑2号楼1单元201室", "", "否"],
        ["", "", "", "", "", "", ""],
    ]  # fmt: skip
    path = write_csv(tmp_path / "wps.csv", header, rows, encoding="gb18030")
    plan = _run(path, commit=True)
    assert (plan.summary["created"], plan.summary["skipped"]) == (2, 1)
    ma1 = Resident.objects.get(name="马一")
    assert ma1.phone == "13900139001"
    assert sorted(t.tag.name for t in ma1.tag_links.all()) == ["独居老人", "空巢老人", "退役军人"]
    ma2 = Resident.objects.get(name="马二")
    assert ma2.birth_date == datetime.date(1956, 4, 1) and ma2.id_number == ""
    # Without an ID number the same person is found again by name at the same dwelling.
    again = _run(path, commit=True)
    assert again.summary["unchanged"] == 2


def test_person_registered_in_another_community_is_refused_masked(tmp_path):
    number = id_number("19660606", 31)
    header = ["姓名", "身份证号码", "地址"]
    _run(
        write_xlsx(tmp_path / "h.xlsx", header, [["郑大明", number, "恒大名都1号楼1单元101室"]]),
        community=_community(HENGDA),
        commit=True,
    )
    plan = _run(write_xlsx(tmp_path / "j.xlsx", header, [["郑大明", number, "嘉和苑1号楼1单元101室"]]))
    result = plan.results[-1]
    assert result.status == "refused" and result.field == "身份证号码"
    assert "恒大社区" in result.message and "郑**" in result.message and number not in result.message


def test_import_lifecycle_keeps_refused_rows_as_a_workbook(tmp_path, persona, settings):
    settings.MINQING_IMPORT_INLINE_ROWS = 100
    staff = persona("staff1")
    path = write_xlsx(tmp_path / "台账.xlsx", HEADER, messy_rows())
    item = ledger.ledger_import_create(
        actor=staff, community=_community(), file_name="台账.xlsx", content=path.read_bytes()
    )
    ledger.ledger_import_preview(ledger_import_id=item.pk)
    item.refresh_from_db()
    assert item.status == ImportStatus.PREVIEWED and item.summary["refused"] == 6
    ledger.ledger_import_start_commit(actor=staff, ledger_import=item)
    ledger.ledger_import_commit(ledger_import_id=item.pk)
    item.refresh_from_db()
    assert item.status == ImportStatus.COMMITTED and item.summary["created"] == 3
    entry = AuditEntry.objects.get(action="ledger.import", target_id=str(item.pk))
    assert entry.data["created"] == 3 and entry.data["refused"] == 6
    rows = CalamineWorkbook.from_path(item.error_file.path).get_sheet_by_index(0).to_python()
    assert rows[0] == [*HEADER, "错误原因"]
    assert len(rows) == 7
    assert rows[1][1] == "赵六" and rows[1][-1].startswith("公民身份号码：")
    assert rows[3][3] == pytest.approx(1.50603194503021e17)  # the original cell, as it was
    report = json.loads(ledger.report_json(item))
    assert report["summary"]["households"] == 2 and len(report["rows"]) == 12
    with pytest.raises(Exception, match="已确认"):
        ledger.ledger_import_start_commit(actor=staff, ledger_import=item)


def test_the_preview_keeps_its_cleaned_rows_encrypted_and_the_commit_deletes_them(tmp_path, persona, settings):
    settings.MINQING_IMPORT_INLINE_ROWS = 100
    staff = persona("staff1")
    path = write_xlsx(tmp_path / "台账.xlsx", HEADER, messy_rows())
    item = ledger.ledger_import_create(
        actor=staff, community=_community(), file_name="台账.xlsx", content=path.read_bytes()
    )
    ledger.ledger_import_preview(ledger_import_id=item.pk)
    item.refresh_from_db()
    kept_file = kept.kept_path(item.file.path)
    raw = kept_file.read_bytes()
    for clear in (ZHANG, LI, WANG, "13800138000", "张杰", "嘉和苑"):
        assert clear.encode() not in raw
    ledger.ledger_import_start_commit(actor=staff, ledger_import=item)
    ledger.ledger_import_commit(ledger_import_id=item.pk)
    item.refresh_from_db()
    assert item.status == ImportStatus.COMMITTED and item.summary["created"] == 3 and item.summary["refused"] == 6
    assert not kept_file.exists() and not item.file


def test_a_commit_reusing_the_preview_gives_what_a_fresh_plan_gives(tmp_path, persona):
    staff = persona("staff1")
    path = write_xlsx(tmp_path / "台账.xlsx", HEADER, messy_rows())
    today = datetime.date.today()
    fresh = ledger.plan_file(path, actor=staff, community=_community(), today=today)
    assert kept.load(path, today=today) is not None
    reused = ledger.plan_file(path, actor=staff, community=_community(), today=today, reuse_kept=True)
    assert reused.report() == fresh.report()
    assert [(p.values, p.dwelling_key, p.household_key, p.tags) for p in reused.planned] == [
        (p.values, p.dwelling_key, p.household_key, p.tags) for p in fresh.planned
    ]
    # Kept rows do not outlive their day, their file or their format: the commit cleans again.
    assert kept.load(path, today=today + datetime.timedelta(days=1)) is None
    kept.kept_path(path).write_bytes(b"not a token")
    assert kept.load(path, today=today) is None
    again = ledger.plan_file(path, actor=staff, community=_community(), today=today, reuse_kept=True)
    assert again.report() == fresh.report()


def _plan_with_helper(monkeypatch, path, *, actor, today):
    """Plan `path` with the second cleaning process, in chunks of 2 rows so both take some."""
    monkeypatch.setattr(importer, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(importer._CleaningHelper, "CHUNK", 2)
    started = []
    start = importer._CleaningHelper.start.__func__

    def spy(cls, rows, clean_row):
        helper = start(cls, rows, clean_row)
        started.append(helper)
        return helper

    monkeypatch.setattr(importer._CleaningHelper, "start", classmethod(spy))
    plan = plan_import(actor=actor, community=_community(), sheet=read_sheet(path), today=today)
    assert started and started[0] is not None and started[0].child.stream is None  # it ran, and it is gone
    return plan


def _same_plan(plan, fresh) -> None:
    assert plan.report() == fresh.report() and plan.kept == fresh.kept and plan.new_places == fresh.new_places
    assert [(p.values, p.dwelling_key, p.household_key, p.tags) for p in plan.planned] == [
        (p.values, p.dwelling_key, p.household_key, p.tags) for p in fresh.planned
    ]


def test_a_large_sheet_cleaned_by_two_processes_plans_as_one_does(tmp_path, persona, monkeypatch):
    staff = persona("staff1")
    rows = messy_rows() * 3  # blank, footer, refused and duplicate rows in both processes' chunks
    path = write_xlsx(tmp_path / "台账.xlsx", HEADER, rows)
    today = datetime.date.today()
    fresh = plan_import(actor=staff, community=_community(), sheet=read_sheet(path), today=today)
    _same_plan(_plan_with_helper(monkeypatch, path, actor=staff, today=today), fresh)


class _FailingPickle:
    """pickle for a helper process that fails: it sends nothing."""

    HIGHEST_PROTOCOL = pickle.HIGHEST_PROTOCOL
    load = staticmethod(pickle.load)

    @staticmethod
    def dumps(*args, **kwargs):
        raise RuntimeError("the child fails")


def test_rows_a_failed_helper_process_did_not_send_are_cleaned_here(tmp_path, persona, monkeypatch):
    staff = persona("staff1")
    path = write_xlsx(tmp_path / "台账.xlsx", HEADER, messy_rows() * 2)
    today = datetime.date.today()
    fresh = plan_import(actor=staff, community=_community(), sheet=read_sheet(path), today=today)

    monkeypatch.setattr(forked, "pickle", _FailingPickle)
    _same_plan(_plan_with_helper(monkeypatch, path, actor=staff, today=today), fresh)


def test_the_commit_matches_against_the_registry_as_it_is_then(tmp_path):
    """Rows kept from the preview are matched again: a person registered since is updated, not doubled."""
    path = write_xlsx(tmp_path / "台账.xlsx", HEADER, messy_rows())
    today = datetime.date.today()
    preview = ledger.plan_file(path, actor=None, community=_community(), today=today)
    assert preview.summary["created"] == 3
    write_xlsx(tmp_path / "one.xlsx", HEADER, messy_rows()[:1])
    _run(tmp_path / "one.xlsx", commit=True)  # 张杰 is registered between the preview and the commit
    commit = ledger.plan_file(path, actor=None, community=_community(), today=today, reuse_kept=True)
    assert commit.summary["created"] == 2 and commit.summary["unchanged"] == 1


def test_import_into_a_community_out_of_scope_is_refused(tmp_path, persona):
    with pytest.raises(Exception, match="不在管辖范围"):
        ledger.ledger_import_create(
            actor=persona("staff1"), community=_community(HENGDA), file_name="a.csv", content=b"x"
        )


def test_header_is_found_by_content_not_position(tmp_path):
    header = ["编号", "姓  名", "身份证号码（必填）", "联系电话", "家庭住址"]
    rows = [[1, "韩梅梅", id_number("19900909", 41, female=True), "", "嘉和苑4号楼2单元302"]]
    path = write_xlsx(tmp_path / "x.xlsx", header, rows)
    sheet = read_sheet(path)
    assert sheet.header_row == 3 and sheet.columns["name"] == 1 and sheet.columns["address"] == 4
    plan = _run(path, commit=True)
    assert plan.summary["created"] == 1
    assert Dwelling.objects.filter(residents__name="韩梅梅", room="302", unit__name="2单元").exists()


def test_command_line_writes_the_report(tmp_path):
    path = write_xlsx(tmp_path / "台账.xlsx", HEADER, messy_rows())
    out = tmp_path / "report.json"
    quiet = open(tmp_path / "o", "w")
    call_command("import_residents", str(path), "--community", "嘉和社区", "--report", str(out), stdout=quiet)
    report = json.loads(out.read_text())
    assert set(report) == {"summary", "rows"}
    assert report["summary"]["created"] == 3 and report["summary"]["households"] == 2
    assert {r["status"] for r in report["rows"]} == {"created", "duplicate", "skipped", "refused"}
    assert set(report["rows"][0]) == {"row", "status", "field", "message"}
    assert not Resident.objects.filter(name="张杰").exists()
    call_command("import_residents", str(path), "--community", JIAHE, "--commit", stdout=quiet)
    assert Resident.objects.filter(name="张杰").exists()
