"""The review workflow and its steps get Chinese names: the admin shows them inside Chinese sentences
("提交给医学审核"). Wagtail's own default workflow ("Moderators approval") is renamed the same way."""

from django.db import migrations

RENAMES = {
    "Medical review → Compliance review": "医学审核 → 合规审核",
    "Medical review": "医学审核",
    "Compliance review": "合规审核",
    "Moderators approval": "编辑审批",
}


def rename(apps, schema_editor, names: dict):
    for model in ("Workflow", "Task"):
        rows = apps.get_model("wagtailcore", model).objects
        for old, new in names.items():
            rows.filter(name=old).update(name=new)
    # Wagtail's tree root shows in every breadcrumb of the page explorer.
    root = {"Root": "根目录"} if "Moderators approval" in names else {"根目录": "Root"}
    for old, new in root.items():
        apps.get_model("wagtailcore", "Page").objects.filter(depth=1, title=old).update(title=new, draft_title=new)


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0010_content_image_links"),
        ("wagtailcore", "0098_apitoken"),  # after 0048, which creates "Moderators approval"
    ]

    operations = [
        migrations.RunPython(lambda apps, schema_editor: rename(apps, schema_editor, RENAMES),
                             lambda apps, schema_editor: rename(apps, schema_editor,
                                                                {new: old for old, new in RENAMES.items()})),
    ]
