from engage.core.roles import is_staff_member, roles_of


def portal(request):
    user = getattr(request, "user", None)
    return {
        "user_roles": sorted(role.value for role in roles_of(user)),
        "user_is_staff_member": is_staff_member(user),
    }
