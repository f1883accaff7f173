"""Who may manage the Product snippet: marketing and admins edit it, reviewers and compliance read it."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PRODUCT_PERMISSIONS = {
    "marketing": ["add_product", "change_product", "view_product"],
    "medical_reviewer": ["view_product"],
    "compliance": ["view_product"],
    "admin": ["add_product", "change_product", "delete_product", "view_product"],
}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; create the new ones now so roles can hold them.
    app_config = apps.get_app_config("cms")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    for role, codenames in PRODUCT_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is not None:
            group.permissions.add(*Permission.objects.filter(content_type__app_label="cms", codename__in=codenames))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth.Permission")
    for group in apps.get_model("auth.Group").objects.filter(name__in=PRODUCT_PERMISSIONS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="cms", codename__endswith="_product"))


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0003_content_pages"),
        ("members", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
