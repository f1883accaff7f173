"""What Wagtail does when a workflow finishes (settings.WAGTAIL_FINISH_WORKFLOW_ACTION).

Imported while wagtail.models loads: keep imports inside the function.
"""


def publish_approved_revision(workflow_state, user=None):
    """Publishes the revision the last review step approved (not merely the latest one).

    The approvals are the authority to publish, so the final reviewer needs no publish permission of their own;
    ContentPage.publish still refuses a revision without both approvals.
    """
    task_state = workflow_state.current_task_state
    revision = task_state.revision if task_state else workflow_state.content_object.get_latest_revision()
    revision.publish(user=user, skip_permission_checks=True)
