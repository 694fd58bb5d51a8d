from django.db import migrations

# The category tree a district starts with; a district admin maintains it. Limits sit on the top node
# unless a leaf needs its own: (name, accept_hours, finish_working_days, urgent_finish_hours, children).
DEFAULT_CATEGORIES = [
    ("市政设施", 24, 5, 24, ["下水堵塞", "路灯损坏", "道路破损", "井盖缺失"]),
    ("环境卫生", 24, 3, None, ["楼道堆物", "垃圾清运", "绿化养护"]),
    ("安全隐患", 2, 2, 12, ["电动车楼道充电", "燃气隐患", "消防通道堵塞"]),
    ("物业服务", 24, 5, None, ["电梯故障", "漏水渗水", "停车管理"]),
    ("供电供水", 4, 3, 12, ["停电", "停水", "水压不足"]),
    ("邻里纠纷", 24, 10, None, []),
    ("政策咨询", 24, 3, None, []),
    ("其他", 24, 5, None, []),
]


def create(apps, schema_editor):
    Category = apps.get_model("tickets", "Category")
    for order, (name, accept, finish, urgent, children) in enumerate(DEFAULT_CATEGORIES, start=1):
        parent = Category.objects.create(
            name=name, accept_hours=accept, finish_working_days=finish, urgent_finish_hours=urgent, order=order * 10
        )
        for child_order, child in enumerate(children, start=1):
            Category.objects.create(parent=parent, name=child, order=child_order * 10)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
