"""Course pages outside the page tree: completing a lesson from its page (a form: works without script)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from engage.core.errors import DomainError, NotFound, PermissionDenied
from learning.courses.selectors import access_lesson, lesson_context
from learning.courses.services import lesson_complete


@require_POST
@login_required
def lesson_complete_view(request, lesson_id: int):
    try:
        lesson = access_lesson(user=request.user, lesson_id=lesson_id)
    except NotFound:
        raise Http404 from None
    except PermissionDenied as error:
        raise DjangoPermissionDenied(str(error.message)) from None
    try:
        lesson_complete(user=request.user, lesson=lesson)
    except PermissionDenied as error:  # authors may read a lesson, only its audience completes it
        raise DjangoPermissionDenied(str(error.message)) from None
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(lesson.url)
    context = lesson_context(user=request.user, lesson=lesson)
    messages.success(request, _("Lesson completed."))
    following = context["next_lesson"]
    return redirect(following.url if following is not None else lesson.course.url)
