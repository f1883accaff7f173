"""Wagtail permission policies for records that staff may read but nobody may change (evidence)."""

from django.forms import modelform_factory
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies.base import ModelPermissionPolicy

from engage.roles import Role, has_role


class ReadOnlyRolePolicy(ModelPermissionPolicy):
    """Only `view`, only for the given roles; add, change and delete are refused to everyone."""

    def __init__(self, model, roles: tuple[Role, ...]):
        super().__init__(model)
        self.roles = roles

    def user_has_permission(self, user, action):
        return action == "view" and has_role(user, *self.roles)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def users_with_any_permission(self, actions):
        from django.contrib.auth import get_user_model

        User = get_user_model()
        if "view" not in actions:
            return User.objects.none()
        names = [role.value for role in self.roles]
        return User.objects.filter(is_active=True).filter(
            models_q_groups_or_superuser(names)
        ).distinct()

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action)

    def user_has_any_permission_for_instance(self, user, actions, instance):
        return self.user_has_any_permission(user, actions)

    def instances_user_has_any_permission_for(self, user, actions):
        if self.user_has_any_permission(user, actions):
            return self.model._default_manager.all()
        return self.model._default_manager.none()


def models_q_groups_or_superuser(group_names):
    from django.db.models import Q

    return Q(groups__name__in=group_names) | Q(is_superuser=True)


class ReadOnlyModelViewSet(ModelViewSet):
    """Index, filters, export and inspect only; the policy refuses add, edit and delete."""

    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_admin_menu = True

    def get_form_class(self, for_update=False):
        return modelform_factory(self.model, fields=[])
