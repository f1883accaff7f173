"""`{% approval_refusal task_state as refusal %}`: why the signed-in reviewer may not approve the task state's
revision (separation of duties), for the approval dialog; the approval service refuses it again."""

from django import template

from cms.review.selectors import approval_refusal as refusal_of

register = template.Library()


@register.simple_tag(takes_context=True)
def approval_refusal(context, task_state):
    request = context.get("request")
    task = task_state.task.specific
    return refusal_of(user=getattr(request, "user", None), meaning=getattr(task, "meaning", ""),
                      revision=task_state.revision)
