"""Creates the "Medical review → Compliance review" workflow and requires it for the whole content tree."""

from django.db import migrations

WORKFLOW_NAME = "Medical review → Compliance review"
STEPS = [("medical", "medical_reviewer", "Medical review"), ("compliance", "compliance", "Compliance review")]


def create_workflow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Group = apps.get_model("auth", "Group")
    Workflow = apps.get_model("wagtailcore", "Workflow")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    WorkflowPage = apps.get_model("wagtailcore", "WorkflowPage")
    Page = apps.get_model("wagtailcore", "Page")
    ReviewApprovalTask = apps.get_model("cms", "ReviewApprovalTask")
    task_type, _ = ContentType.objects.get_or_create(app_label="cms", model="reviewapprovaltask")
    workflow, _ = Workflow.objects.get_or_create(name=WORKFLOW_NAME)
    for order, (meaning, group_name, name) in enumerate(STEPS):
        task = ReviewApprovalTask.objects.filter(meaning=meaning).first()
        if task is None:
            task = ReviewApprovalTask.objects.create(name=name, meaning=meaning, content_type=task_type, active=True)
            group = Group.objects.filter(name=group_name).first()
            if group:
                task.groups.add(group)
        WorkflowTask.objects.get_or_create(workflow=workflow, task_id=task.pk, defaults={"sort_order": order})
    home_type = ContentType.objects.filter(app_label="cms", model="homepage").first()
    home = Page.objects.filter(content_type=home_type).first() if home_type else None
    if home is not None:
        WorkflowPage.objects.get_or_create(page=home, defaults={"workflow": workflow})


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0006_workflow_review"),
        ("members", "0004_membership_data"),
    ]

    operations = [migrations.RunPython(create_workflow, migrations.RunPython.noop)]
