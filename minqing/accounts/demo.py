"""Demo accounts, one per role (README lists them), plus the people a real community has:
a grid worker for most grids, several liaisons, and an outsider in another community."""

from django.contrib.auth.hashers import make_password

from minqing.accounts.models import ApiToken, Department, DepartmentKind, User
from minqing.accounts.roles import Role
from minqing.areas.models import Area, Building, Dwelling

DEMO_PASSWORD = "Minqing@2025"
# The demo 12345 hotline's integration key (README, demo only): Open311 and /api/v1/ take it. Stored
# hashed like every key; a real key is issued on the keys page and shown once.
DEMO_HOTLINE_KEY = "demo-hotline-key"

DEPARTMENTS = [
    # (code, name, kind, area code)
    ("D-POWER", "民安供电公司", DepartmentKind.POWER, "150603"),
    ("D-PARKS", "民安区园林局", DepartmentKind.LANDSCAPE, "150603"),
    ("D-POLICE-KX", "康新派出所", DepartmentKind.POLICE, "150603001"),
    ("D-JUDICIAL-KX", "康新司法所", DepartmentKind.JUDICIAL, "150603001"),
    ("D-PROPERTY-JH", "嘉和苑物业", DepartmentKind.PROPERTY, "150603001001"),
]

JIAHE, XINGAN, HENGDA, ANJU = "150603001001", "150603001002", "150603002001", "150603002002"
# Grids left without a grid worker, so the community admin's home page has something waiting.
UNSTAFFED_GRIDS = {f"{HENGDA}-G14", f"{HENGDA}-G15", f"{JIAHE}-G03"}


def build(nodes: dict[str, Area]) -> dict[str, User]:
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is deliberately slow
    departments = {
        code: Department.objects.create(code=code, name=name, kind=kind, area=nodes[area_code])
        for code, name, kind, area_code in DEPARTMENTS
    }
    users: dict[str, User] = {}

    def make(username, display_name, role, area=None, department=None, **extra):
        users[username] = User.objects.create(
            username=username,
            display_name=display_name,
            role=role,
            area=area,
            department=department,
            password=password,
            **extra,
        )
        return users[username]

    jiahe_g1 = nodes[f"{JIAHE}-G01"]
    make("grid1", "李敏", Role.GRID_WORKER, jiahe_g1)
    make("liaison1", "程强壮", Role.LIAISON, jiahe_g1)
    make("staff1", "王静", Role.COMMUNITY_STAFF, nodes[JIAHE])
    make("admin1", "赵书记", Role.COMMUNITY_ADMIN, nodes[JIAHE], mfa_exempt=True)
    make("street1", "刘主任", Role.SUBDISTRICT_STAFF, nodes["150603001"])
    make("dept1", "张电工", Role.DEPARTMENT, department=departments["D-POWER"])
    make("district1", "陈科长", Role.DISTRICT_STAFF, nodes["150603"], mfa_exempt=True)
    # The outsiders: the same roles in another community and subdistrict.
    make("grid2", "王娜", Role.GRID_WORKER, nodes[f"{HENGDA}-G01"])
    make("liaison2", "平逸", Role.LIAISON, nodes[f"{JIAHE}-G02"])
    make("staff2", "齐丽娜", Role.COMMUNITY_STAFF, nodes[HENGDA])
    make("street2", "许守宁", Role.SUBDISTRICT_STAFF, nodes["150603002"])
    make("dept2", "园林养护班", Role.DEPARTMENT, department=departments["D-PARKS"])
    make("bhead1", "苏美华", Role.BUILDING_HEAD, nodes[f"{XINGAN}-G01"])
    # The 12345 hotline: a district-level service account (district staff may register demands
    # anywhere in the district), reached only through its integration key.
    hotline = make("svc-hotline12345", "12345热线（演示）", Role.DISTRICT_STAFF, nodes["150603"], is_service=True)
    hotline.set_unusable_password()
    hotline.save(update_fields=["password"])
    ApiToken.objects.create(
        user=hotline,
        kind=ApiToken.Kind.INTEGRATION,
        name="12345 热线（演示）",
        key_hash=ApiToken.hash_key(DEMO_HOTLINE_KEY),
        prefix=DEMO_HOTLINE_KEY[:10],
        issued_by=users["district1"],
    )

    # liaison1 looks after one whole building of 16 households (一人包联16户).
    first_building = Building.objects.filter(grid=jiahe_g1).order_by("pk").first()
    users["liaison1"].dwellings.set(Dwelling.objects.filter(building=first_building))
    second_grid_building = Building.objects.filter(grid=nodes[f"{JIAHE}-G02"]).order_by("pk").first()
    users["liaison2"].dwellings.set(Dwelling.objects.filter(building=second_grid_building)[:16])
    users["bhead1"].buildings.set(Building.objects.filter(grid=nodes[f"{XINGAN}-G01"]).order_by("pk")[:1])

    # A grid worker for every other grid.
    for grid in Area.objects.filter(level="grid").exclude(code__in=UNSTAFFED_GRIDS).order_by("code"):
        if grid.pk in (jiahe_g1.pk, nodes[f"{HENGDA}-G01"].pk):
            continue
        make(f"gw-{grid.code}", f"{grid.name}网格员", Role.GRID_WORKER, grid)
    return users
