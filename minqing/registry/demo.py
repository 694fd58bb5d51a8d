"""Demo residents: a few hundred people in realistic households over the demo places.

Every grid a demo persona works in has residents (each of liaison1's 16 dwellings, grid1's grid,
and the outsiders' grids of grid2, liaison2 and bhead1), so pages and scope tests have something on
both sides. The values go through clean_resident_fields, exactly as a service would store them;
the rows are written in bulk (with history) because the demo is loaded at every test session.
Deterministic: the same seed and day give the same people."""

import datetime
import random
from dataclasses import dataclass, field

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from minqing.areas.models import Area, Dwelling
from minqing.registry.cleaning import clean_resident_fields
from minqing.registry.idnumbers import check_character
from minqing.registry.models import (
    EventKind,
    Household,
    RegistrationType,
    Relation,
    Resident,
    ResidentEvent,
    ResidentStatus,
    ResidentTag,
    Tag,
)

SEED = 150603
JIAHE, XINGAN, HENGDA = "150603001001", "150603001002", "150603002001"
COMMUNITY_TAG = (JIAHE, "失独家庭")

# Common surnames, the first ones more often (roughly their frequency in northern China).
SURNAMES = (
    "王王王李李李张张张刘刘陈杨杨赵赵黄周吴徐孙胡朱高高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许"
    "傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭邹熊金陆郝郝孔白崔康毛邱秦江"
    "史顾侯邵孟段雷钱汤尹常武乔乔贺奥云"
)
# Given names by the decade people were born in.
GIVEN = {
    "old": (
        "建国 国庆 振华 德明 志刚 福生 金山 宝山 玉成 长青 树林 文华 永福 建华 保国 占山 有才 来顺 满仓 存厚".split(),
        "秀英 桂英 玉兰 凤英 淑珍 桂兰 秀兰 玉珍 素芬 翠花 兰英 淑芬 秀珍 桂芝 凤兰 金花 玉梅 月娥".split(),
    ),
    "mid": (
        "伟 强 军 勇 斌 刚 磊 涛 明 辉 海军 志强 建军 国华 红兵 卫东 永强 晓东 海涛 俊峰 利平 文斌".split(),
        "丽 艳 敏 静 芳 娟 霞 燕 红梅 丽娜 海燕 晓红 春艳 丽华 秀梅 慧 晶 彩霞 美玲 建英".split(),
    ),
    "young": (
        "鹏 浩 磊 杰 鑫 超 宇 帅 博 健 俊杰 志鹏 浩然 文博 晓宇 家豪 天宇 泽宇 嘉伟 明轩".split(),
        "婷 雪 琳 悦 佳 颖 璐 倩 婷婷 雅琪 佳怡 思琪 欣然 晓雪 梦瑶 雨婷 蕾 晓琳".split(),
    ),
    "child": (
        "子轩 浩宇 梓豪 宇轩 俊熙 一鸣 子墨 奕辰 沐阳 睿 博文 皓轩 铭泽 锦程".split(),
        "梓涵 欣怡 诗涵 雨桐 可馨 一诺 子萱 梓萱 语桐 若曦 思彤 安琪 芷若 依晨".split(),
    ),
}
MONGOL_GIVEN = (
    "巴特尔 苏和 额尔敦 孟和 乌力吉 巴图 那日苏 宝音 朝鲁 阿拉坦 毕力格 达来 吉日格勒 布和 图门".split(),
    "其其格 萨仁 乌云 斯琴 娜仁 图雅 高娃 托娅 乌日娜 萨日娜 塔娜 敖登 苏日娜 阿茹娜".split(),
)
MONGOL_SURNAMES = "包白奇云鲍韩陶"
# Where people's ID numbers were issued: the district and its neighbours (GB/T 2260).
LOCAL_REGIONS = ["150602"] * 8 + ["150603"] * 5 + ["150621", "150622", "150627", "150627"]
MONGOL_REGIONS = ["150624", "150625", "150626", "150627", "150602"]
FLOATING_REGIONS = ["610802", "140602", "150102", "150202", "620102", "130102", "612701", "152801"]
OCCUPATIONS = [
    ("教师", "鄂尔多斯市第一中学"), ("教师", "康巴什区第二小学"), ("医生", "鄂尔多斯市中心医院"),
    ("护士", "康巴什区人民医院"), ("煤矿工人", "伊泰集团"), ("工程师", "国家能源集团准能公司"),
    ("公务员", "民安区人民政府"), ("银行职员", "鄂尔多斯银行"), ("个体经营", ""), ("出租车司机", ""),
    ("快递员", "顺丰速运"), ("外卖骑手", ""), ("厨师", ""), ("会计", "鄂尔多斯市东联商贸有限公司"),
    ("销售", ""), ("保安", "嘉和苑物业"), ("自由职业", ""), ("务工", ""), ("无业", ""), ("电工", "民安供电公司"),
]  # fmt: skip
MOBILE_PREFIXES = "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 180 186 187 188 189".split()
SKILLS = ["理发", "电工", "水暖维修", "法律咨询", "医疗护理", "书法", "蒙汉翻译", "广场舞", "心理咨询", "家电维修"]
CHRONIC = [("高血压", "高血压，长期服药"), ("糖尿病", "2型糖尿病，胰岛素治疗"), ("冠心病", "冠心病，需定期复查")]
DISABILITY_KINDS = ["肢体", "视力", "听力", "言语", "智力", "精神"]
AWAY_PLACES = ["呼和浩特市赛罕区", "包头市昆都仑区", "北京市朝阳区", "西安市雁塔区", "东胜区", "天津市滨海新区"]


@dataclass
class Person:
    relation: str
    sex: str  # "M" / "F"
    age: int
    name: str = ""
    ethnicity: str = "01"
    region: str = ""
    registration_type: str = RegistrationType.HOUSEHOLD
    tags: list = field(default_factory=list)  # (tag name, grade, detail)
    health_notes: str = ""
    notes: str = ""
    status: str = ResidentStatus.ACTIVE
    left_to: str = ""
    left_days_ago: int = 0


class _Builder:
    def __init__(self, rng: random.Random, today: datetime.date):
        self.rng = rng
        self.today = today
        self.id_numbers: set[str] = set()
        self.phones: set[str] = set()

    # People ------------------------------------------------------------------------------------

    def given_name(self, person: Person, mongol: bool) -> str:
        female = person.sex == "F"
        if mongol and (person.age >= 18 or self.rng.random() < 0.5):
            return self.rng.choice(MONGOL_GIVEN[female])
        born = self.today.year - person.age
        era = "old" if born < 1960 else "mid" if born < 1985 else "young" if born < 2008 else "child"
        return self.rng.choice(GIVEN[era][female])

    def name(self, person: Person, surname: str, mongol: bool) -> str:
        given = self.given_name(person, mongol)
        if mongol and len(given) >= 3 and self.rng.random() < 0.6:
            return given  # many Mongolian names are used without a surname
        return surname + given

    def surname(self, mongol: bool) -> str:
        return self.rng.choice(MONGOL_SURNAMES if mongol else SURNAMES)

    def id_number(self, person: Person) -> tuple[str, datetime.date]:
        while True:
            days = int((person.age + self.rng.uniform(0.02, 0.97)) * 365.25)
            birth = self.today - datetime.timedelta(days=days)
            seq = self.rng.randrange(0, 500) * 2 + (1 if person.sex == "M" else 0)
            first17 = f"{person.region}{birth:%Y%m%d}{seq:03d}"
            number = first17 + check_character(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number, birth

    def phone(self, person: Person) -> str:
        if person.age < 14 or (person.age < 18 and self.rng.random() < 0.5):
            return ""
        while True:
            if person.age >= 65 and self.rng.random() < 0.3:
                number = f"0477-8{self.rng.randrange(100000, 999999)}"  # a landline at home
            else:
                prefix = self.rng.choice(MOBILE_PREFIXES)
                number = f"{prefix}{self.rng.randrange(0, 10**8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def political(self, age: int) -> str:
        r = self.rng.random()
        if age < 14:
            return ""
        if age <= 28 and r < 0.35:
            return "共青团员"
        if r < (0.18 if age >= 55 else 0.1):
            return "中共党员"
        if r < 0.12:
            return self.rng.choice(["中共预备党员", "民主党派", "无党派人士"])
        return "群众"

    def occupation(self, age: int) -> tuple[str, str]:
        if age < 3:
            return "", ""
        if age < 6:
            return "在园幼儿", ""
        if age < 23:
            return "学生", ""
        if age >= 60:
            return ("退休", "") if self.rng.random() < 0.7 else ("无", "")
        return self.rng.choice(OCCUPATIONS)

    # Households --------------------------------------------------------------------------------

    def household(self, kind: str) -> list[Person]:
        rng = self.rng
        P = Person
        if kind == "alone":
            sex = rng.choice("MFF")
            return [P(Relation.HEAD, sex, rng.randint(72, 93), tags=[("独居老人", None, "")])]
        if kind == "elderly_couple":
            age = rng.randint(64, 88)
            tags = [("空巢老人", None, "")]
            return [
                P(Relation.HEAD, "M", age, tags=list(tags)),
                P(Relation.SPOUSE, "F", max(60, age - rng.randint(0, 5)), tags=list(tags)),
            ]
        if kind == "young_couple":
            age = rng.randint(25, 34)
            return [P(Relation.HEAD, "M", age), P(Relation.SPOUSE, "F", age - rng.randint(-2, 3))]
        if kind == "single":
            return [P(Relation.HEAD, rng.choice("MF"), rng.randint(22, 45))]
        if kind in ("family", "three_generations"):
            head = rng.randint(32, 52)
            people = [P(Relation.HEAD, "M", head), P(Relation.SPOUSE, "F", head - rng.randint(-2, 4))]
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
                child_age = max(0, head - rng.randint(23, 36))
                son = rng.random() < 0.5
                people.append(P(Relation.SON if son else Relation.DAUGHTER, "M" if son else "F", child_age))
            if kind == "three_generations":
                parent_age = min(head + rng.randint(24, 32), 95)
                people.append(P(Relation.PARENT, "F", parent_age))
                if rng.random() < 0.5:
                    people.append(P(Relation.PARENT, "M", parent_age + rng.randint(0, 4)))
            return people
        if kind == "left_behind":
            # Grandparents raising a grandchild; the parents work elsewhere (外出).
            age = rng.randint(58, 72)
            parent = age - rng.randint(24, 30)
            return [
                P(Relation.HEAD, "M", age),
                P(Relation.SPOUSE, "F", age - rng.randint(0, 4)),
                P(Relation.SON, "M", parent, registration_type=RegistrationType.AWAY),
                P(Relation.CHILD_IN_LAW, "F", parent - rng.randint(0, 3), registration_type=RegistrationType.AWAY),
                P(Relation.GRANDCHILD, rng.choice("MF"), rng.randint(4, 14), tags=[("留守儿童", None, "")]),
            ]
        if kind == "floating":
            age = rng.randint(26, 45)
            people = [
                P(Relation.HEAD, "M", age, registration_type=RegistrationType.FLOATING),
                P(Relation.SPOUSE, "F", age - rng.randint(0, 4), registration_type=RegistrationType.FLOATING),
            ]
            if rng.random() < 0.6:
                people.append(P(Relation.SON, "M", rng.randint(1, 12), registration_type=RegistrationType.FLOATING))
            return people
        if kind == "lodging":
            return [P(Relation.HEAD, rng.choice("MF"), rng.randint(19, 30), registration_type=RegistrationType.LODGING)]
        raise ValueError(kind)

    def dress(self, people: list[Person], *, floating: bool) -> None:
        """Names, ethnicity, origin and the care tags a household of this shape plausibly has."""
        rng = self.rng
        r = rng.random()
        mongol = r < 0.12
        ethnicity = "02" if mongol else "03" if r < 0.15 else "11" if r < 0.17 else "01"
        head_region = rng.choice(FLOATING_REGIONS if floating else MONGOL_REGIONS if mongol else LOCAL_REGIONS)
        family = self.surname(mongol) if ethnicity != "03" else rng.choice("马杨白")
        head = people[0]
        for person in people:
            # Spouses bring their own surname (and sometimes another ethnicity); children take the family's.
            own = person.relation in (Relation.SPOUSE, Relation.CHILD_IN_LAW) or (
                person.relation == Relation.PARENT and person.sex == "F"
            )
            surname = self.surname(mongol) if own else family
            person.ethnicity = ethnicity if not own or rng.random() < 0.8 else "01"
            born_here = person.age < 15 and not floating
            person.region = rng.choice(["150603", "150602"]) if born_here else head_region
            person.name = self.name(person, surname, mongol and person.ethnicity == "02")
        # Care tags in plausible places.
        for person in people:
            if person.age >= 60 and rng.random() < 0.3:
                kind, notes = rng.choice(CHRONIC)
                person.tags.append(("慢性病", None, kind))
                person.health_notes = notes
            if rng.random() < 0.03 or (person.age >= 70 and rng.random() < 0.06):
                person.tags.append(("残疾", rng.randint(1, 4), rng.choice(DISABILITY_KINDS)))
            if person.sex == "M" and 28 <= person.age <= 80 and rng.random() < 0.07:
                person.tags.append(("退役军人", None, ""))
                if person.age >= 65 and rng.random() < 0.5:
                    person.tags.append(("优抚对象", None, "带病回乡退伍军人"))
        if not floating and rng.random() < 0.06:
            for person in people:
                person.tags.append(("低保", None, ""))
        if len(people) == 1 and head.age >= 75 and rng.random() < 0.25:
            head.tags.append(("特困/五保", None, ""))
            head.notes = "无法定赡养人，社区每周走访"


def _dwelling_plan(rng: random.Random, users) -> list[tuple[Dwelling, str]]:
    """(dwelling, household kind) for ~150 households: every one of liaison1's dwellings, most of the
    outsiders' places, and the rest spread over the district."""
    kinds = (
        ["family"] * 36 + ["three_generations"] * 14 + ["elderly_couple"] * 26 + ["alone"] * 16
        + ["young_couple"] * 14 + ["single"] * 18 + ["floating"] * 14 + ["left_behind"] * 6
    )  # fmt: skip
    dwellings = list(Dwelling.objects.select_related("building__grid").order_by("pk"))
    by_grid: dict[str, list[Dwelling]] = {}
    for d in dwellings:
        by_grid.setdefault(d.building.grid.code, []).append(d)
    liaison1 = sorted(users["liaison1"].dwellings.values_list("pk", flat=True))
    liaison2 = sorted(users["liaison2"].dwellings.values_list("pk", flat=True))
    bhead = list(Dwelling.objects.filter(building__in=users["bhead1"].buildings.all()).values_list("pk", flat=True))
    chosen: list[int] = list(liaison1)
    grid1_rest = [d.pk for d in by_grid[f"{JIAHE}-G01"] if d.pk not in liaison1]
    chosen += rng.sample(grid1_rest, 7)  # and 9 left empty, for tests that register people there
    chosen += rng.sample(liaison2, 10)
    chosen += rng.sample([d.pk for d in by_grid[f"{HENGDA}-G01"]], 12)
    chosen += rng.sample(bhead, 8)
    rest = [d.pk for d in dwellings if d.pk not in set(chosen)]
    chosen += rng.sample(rest, 150 - len(chosen))
    by_pk = {d.pk: d for d in dwellings}
    # liaison1's first dwellings get the households the demo is shown with (高龄, 独居, 空巢).
    fixed = ["alone", "elderly_couple", "three_generations", "family", "elderly_couple", "alone"]
    rng.shuffle(kinds)
    plan = [(by_pk[pk], kind) for pk, kind in zip(chosen, fixed + kinds, strict=False)]
    return plan


def build(nodes: dict[str, Area], users, *, today: datetime.date | None = None) -> dict[str, int]:
    """Create the residents; returns the counts the demo_data command reports."""
    today = today or timezone.localdate()
    rng = random.Random(SEED)
    b = _Builder(rng, today)
    plan = _dwelling_plan(rng, users)
    # A few dwellings hold a second household: a young relative or tenant registered as 寄住.
    plan += [(dwelling, "lodging") for dwelling, _ in rng.sample(plan[16:], 3)]

    groups: list[tuple[Household, list[Person], datetime.date]] = []
    for index, (dwelling, kind) in enumerate(plan, start=1):
        people = b.household(kind)
        b.dress(people, floating=kind == "floating")
        household = Household(dwelling=dwelling, number=f"{dwelling.building.grid.code[:12]}{index:04d}")
        moved_in = today - datetime.timedelta(days=rng.randint(60, 15 * 365))
        groups.append((household, people, moved_in))
    _life_events(b, groups, today)
    households = [household for household, _, _ in groups]
    bulk_create_with_history(households, Household)

    residents: list[Resident] = []
    links: list[tuple[Resident, Person]] = []
    for household, people, moved_in in groups:
        for person in people:
            number, birth = b.id_number(person)
            occupation, employer = b.occupation(person.age)
            volunteer = 25 <= person.age <= 70 and rng.random() < 0.08
            values = clean_resident_fields(
                {
                    "name": person.name,
                    "id_number": number,
                    "phone": b.phone(person),
                    "ethnicity": person.ethnicity,
                    "registration_type": person.registration_type,
                    "relation": person.relation,
                    "political_status": b.political(person.age),
                    "occupation": occupation,
                    "employer": employer,
                    "skills": rng.choice(SKILLS) if volunteer else "",
                    "willing_to_serve": volunteer,
                    "notes": person.notes,
                    "health_notes": person.health_notes,
                    "left_to": person.left_to,
                    "moved_in_on": max(moved_in, birth),
                },
                today=today,
            )
            resident = Resident(household=household, dwelling=household.dwelling, status=person.status, **values)
            if person.status != ResidentStatus.ACTIVE:
                resident.left_on = today - datetime.timedelta(days=person.left_days_ago)
            residents.append(resident)
            links.append((resident, person))
    bulk_create_with_history(residents, Resident)

    tags = {t.name: t for t in Tag.objects.filter(community__isnull=True, retired_at__isnull=True)}
    tags[COMMUNITY_TAG[1]] = Tag.objects.create(community=nodes[COMMUNITY_TAG[0]], name=COMMUNITY_TAG[1], order=200)
    resident_tags = [
        ResidentTag(resident=resident, tag=tags[name], grade=grade, detail=detail)
        for resident, person in links
        for name, (grade, detail) in {name: (grade, detail) for name, grade, detail in person.tags}.items()
    ]
    bulk_create_with_history(resident_tags, ResidentTag)

    events = []
    for resident, _person in links:
        events.append(
            ResidentEvent(
                resident=resident, kind=EventKind.MOVED_IN, occurred_on=resident.moved_in_on, dwelling=resident.dwelling
            )
        )
        if resident.status == ResidentStatus.MOVED_OUT:
            events.append(
                ResidentEvent(
                    resident=resident,
                    kind=EventKind.MOVED_OUT,
                    occurred_on=resident.left_on,
                    dwelling=resident.dwelling,
                    destination=resident.left_to,
                )
            )
        elif resident.status == ResidentStatus.DECEASED:
            events.append(
                ResidentEvent(
                    resident=resident,
                    kind=EventKind.DECEASED,
                    occurred_on=resident.left_on,
                    dwelling=resident.dwelling,
                    note="家属到社区报告，已注销户口",
                )
            )
    ResidentEvent.objects.bulk_create(events)
    dissolved = [h for h in households if h.dissolved_at]
    return {
        "residents": len(residents),
        "active": sum(r.status == ResidentStatus.ACTIVE for r in residents),
        "households": len(households) - len(dissolved),
        "tags": len(resident_tags),
    }


def _life_events(b: _Builder, groups, today: datetime.date) -> None:
    """A few who left: grown children moving away, a whole family moving out (their dwelling has new
    residents now), one death that leaves a widow living alone — and one 失独 couple in 嘉和."""
    rng = b.rng
    # liaison1's second household (elderly couple, here for years): the husband died last year.
    household, people, _ = groups[1]
    groups[1] = (household, people, today - datetime.timedelta(days=20 * 365))
    people[0].relation, people[1].relation = Relation.SPOUSE, Relation.HEAD
    people[0].status, people[0].left_days_ago = ResidentStatus.DECEASED, 300
    people[0].tags = []
    people[1].tags = [("独居老人", None, "")]
    people[1].age = max(people[1].age, 81)  # 高龄 shows in liaison1's own list
    groups[0][1][0].age = max(groups[0][1][0].age, 85)
    # Grown children who moved away.
    moved = 0
    for _household, people, moved_in in groups[2:]:
        children = [p for p in people if p.relation in (Relation.SON, Relation.DAUGHTER) and p.age >= 20]
        here = (today - moved_in).days
        if children and here > 60 and moved < 6 and rng.random() < 0.4:
            child = children[0]
            child.status, child.left_days_ago = ResidentStatus.MOVED_OUT, rng.randint(30, min(900, here - 1))
            child.left_to = rng.choice(AWAY_PLACES)
            moved += 1
    # A whole family that moved out of a dwelling in grid1's grid; a new household lives there now.
    grid1_rest = [g for g in groups[16:23] if g[1][0].status == ResidentStatus.ACTIVE]
    household, people, moved_in = grid1_rest[0]
    former = Household(dwelling=household.dwelling, number=household.number + "A")
    leaving = [Person(Relation.HEAD, "M", 47), Person(Relation.SPOUSE, "F", 45), Person(Relation.DAUGHTER, "F", 19)]
    b.dress(leaving, floating=False)
    left = (today - moved_in).days + 30  # they left a month before the present household came
    for person in leaving:
        person.tags = []
        person.status, person.left_days_ago, person.left_to = ResidentStatus.MOVED_OUT, left, "康巴什区青春山街道"
    former.dissolved_at = timezone.now() - datetime.timedelta(days=left)
    groups.append((former, leaving, today - datetime.timedelta(days=left + 3000)))
    # The community's own tag: an elderly couple in 嘉和 whose only child died.
    for household, people, _ in groups:
        if household.dwelling.building.grid.code.startswith(JIAHE) and len(people) == 2 and people[0].age >= 60:
            for person in people:
                person.tags.append(("失独家庭", None, ""))
            break
