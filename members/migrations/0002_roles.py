"""The six roles as groups, with the permissions each needs. Roles are decided by engage.roles."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

STAFF = ["marketing", "medical_reviewer", "compliance", "admin"]
ALL_ROLES = ["doctor", "rep", *STAFF]

# (app_label, codename) per role; "admin" gets every permission that exists at this point except audit writes.
ROLE_PERMISSIONS = {
    "doctor": [],
    "rep": [],
    "marketing": [
        ("wagtailadmin", "access_admin"),
        ("wagtailimages", "add_image"), ("wagtailimages", "change_image"), ("wagtailimages", "choose_image"),
        ("wagtaildocs", "add_document"), ("wagtaildocs", "change_document"), ("wagtaildocs", "choose_document"),
        ("members", "view_hospital"), ("members", "add_hospital"), ("members", "change_hospital"),
        ("members", "view_department"), ("members", "view_doctorprofile"),
        ("messaging", "view_outboundmessage"),
    ],
    "medical_reviewer": [
        ("wagtailadmin", "access_admin"),
        ("wagtailimages", "choose_image"), ("wagtaildocs", "choose_document"),
    ],
    "compliance": [
        ("wagtailadmin", "access_admin"),
        ("audit", "view_auditentry"),
        ("messaging", "view_outboundmessage"),
        ("members", "view_hospital"), ("members", "view_department"), ("members", "view_doctorprofile"),
    ],
}
# Page permissions on the portal's tree, by role.
PAGE_PERMISSIONS = {
    "marketing": ["add_page", "change_page"],
    "medical_reviewer": [],
    "compliance": [],
    "admin": ["add_page", "change_page", "publish_page", "bulk_delete_page", "lock_page", "unlock_page"],
}
AUDIT_WRITES = {"add_auditentry", "change_auditentry", "delete_auditentry"}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so roles can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    Page = apps.get_model("wagtailcore.Page")
    GroupPagePermission = apps.get_model("wagtailcore.GroupPagePermission")

    root = Page.objects.filter(depth=1).first()
    for role in ALL_ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        if role == "admin":
            perms = Permission.objects.exclude(content_type__app_label="audit", codename__in=AUDIT_WRITES)
        else:
            perms = [
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
                for app_label, codename in ROLE_PERMISSIONS[role]
            ]
        group.permissions.set(perms)
        for codename in PAGE_PERMISSIONS.get(role, []):
            permission = Permission.objects.get(content_type__app_label="wagtailcore", codename=codename)
            GroupPagePermission.objects.get_or_create(group=group, page=root, permission=permission)


def remove_roles(apps, schema_editor):
    apps.get_model("auth.Group").objects.filter(name__in=ALL_ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0001_initial"),
        ("audit", "0001_initial"),
        ("messaging", "0001_initial"),
        ("cms", "0002_create_homepage"),
        ("wagtailadmin", "0006_formstate"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailimages", "0027_image_description"),
        ("wagtaildocs", "0014_alter_document_file_size"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
