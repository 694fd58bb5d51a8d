"""Demo places named after the practices in shared/seeds: 嘉和社区 (联户长, 康新街道),
兴安南路社区 (6 grids), 恒大社区 (15 grids), 安居苑社区 (5 grids, a resettlement estate)."""

from simple_history.utils import bulk_create_with_history

from minqing.areas.models import Area, AreaLevel, Building, Dwelling, Estate, HousingType, Unit

DISTRICT = ("150603", "民安区")
SUBDISTRICTS = [("150603001", "康新街道"), ("150603002", "沙河街道")]
# (subdistrict code, community code, name, grid count, estates, housing type)
COMMUNITIES = [
    ("150603001", "150603001001", "嘉和社区", 3, ["嘉和苑"], HousingType.COMMERCIAL),
    (
        "150603001",
        "150603001002",
        "兴安南路社区",
        6,
        ["电影制片厂小区", "审计厅小区", "林业厅小区"],
        HousingType.COMMERCIAL,
    ),
    ("150603002", "150603002001", "恒大社区", 15, ["恒大名都", "恒大华府"], HousingType.COMMERCIAL),
    ("150603002", "150603002002", "安居苑社区", 5, ["安居苑"], HousingType.RESETTLEMENT),
]
BUILDINGS_PER_GRID = 2
UNITS_PER_BUILDING = 2
FLOORS = 4
ROOMS_PER_FLOOR = 2  # so a building has 2 × 4 × 2 = 16 dwellings, one liaison's share


def _node(level: str, code: str, name: str, parent: Area | None) -> Area:
    area = Area.objects.create(level=level, code=code, name=name, parent=parent, path="")
    area.path = f"{parent.path if parent else '/'}{area.pk}/"
    Area.objects.filter(pk=area.pk).update(path=area.path)
    return area


def _square(index: int) -> dict:
    # A small made-up square per grid, so maps and boundary checks have something to show.
    x, y = 109.78 + (index % 5) * 0.004, 39.60 + (index // 5) * 0.004
    ring = [[x, y], [x + 0.0035, y], [x + 0.0035, y + 0.0035], [x, y + 0.0035], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def build() -> dict[str, Area]:
    """Create the tree and places; returns the nodes by code."""
    nodes: dict[str, Area] = {}
    district = nodes[DISTRICT[0]] = _node(AreaLevel.DISTRICT, *DISTRICT, None)
    for code, name in SUBDISTRICTS:
        nodes[code] = _node(AreaLevel.SUBDISTRICT, code, name, district)
    grid_index = 0
    for sub_code, code, name, grid_count, estate_names, housing_type in COMMUNITIES:
        community = nodes[code] = _node(AreaLevel.COMMUNITY, code, name, nodes[sub_code])
        estates = [Estate.objects.create(community=community, name=e, address=f"民安区{e}") for e in estate_names]
        building_no = 0
        for g in range(1, grid_count + 1):
            grid = _node(AreaLevel.GRID, f"{code}-G{g:02d}", f"{name}第{g}网格", community)
            grid.boundary = _square(grid_index)
            Area.objects.filter(pk=grid.pk).update(boundary=grid.boundary)
            grid_index += 1
            nodes[grid.code] = grid
            for _ in range(BUILDINGS_PER_GRID):
                building_no += 1
                estate = estates[(building_no - 1) % len(estates)]
                building = Building.objects.create(estate=estate, grid=grid, name=f"{building_no}号楼", floors=FLOORS)
                units = [
                    Unit.objects.create(building=building, name=f"{u}单元") for u in range(1, UNITS_PER_BUILDING + 1)
                ]
                bulk_create_with_history(
                    [
                        Dwelling(
                            building=building,
                            unit=unit,
                            floor=floor,
                            room=f"{floor}0{r}",
                            housing_type=housing_type,
                            floor_area=88 + 12 * r,
                        )
                        for unit in units
                        for floor in range(1, FLOORS + 1)
                        for r in range(1, ROOMS_PER_FLOOR + 1)
                    ],
                    Dwelling,
                )
    return nodes
