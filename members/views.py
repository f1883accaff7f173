from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from engage.roles import roles_of


@login_required
def member_home(request):
    user = request.user
    return render(
        request,
        "members/member_home.html",
        {
            "member": user,
            "roles": sorted(role.value for role in roles_of(user)),
            "profile": getattr(user, "doctor_profile", None) if hasattr(user, "doctor_profile") else None,
        },
    )
