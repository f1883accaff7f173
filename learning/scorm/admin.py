"""Admin of SCORM lessons: the packages with their lessons, and uploading a SCORM 1.2 ZIP as a lesson's content."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from engage.core.errors import DomainError
from learning.courses.models import LessonPage
from learning.scorm import selectors, services
from learning.scorm.importers import MAX_TOTAL_SIZE


class UploadForm(forms.Form):
    package = forms.FileField(label=gettext_lazy("SCORM 1.2 package (ZIP)"))
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200, required=False,
                            help_text=gettext_lazy("Empty: the title in the package's manifest."))
    lesson = forms.ModelChoiceField(label=gettext_lazy("Lesson"), required=False,
                                    queryset=LessonPage.objects.order_by("path"),
                                    help_text=gettext_lazy("The lesson that runs this package; it replaces the "
                                                           "lesson's earlier package."))

    def clean_package(self):
        upload = self.cleaned_data["package"]
        if upload.size > MAX_TOTAL_SIZE:
            raise forms.ValidationError(_("The file is larger than the %(limit)s MB allowed.")
                                        % {"limit": MAX_TOTAL_SIZE // (1024 * 1024)})
        return upload


class ScormStaffMixin:
    def dispatch(self, request, *args, **kwargs):
        if not selectors.can_manage_scorm_packages(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class PackagesView(ScormStaffMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "learning/scorm/admin/packages.html"
    page_title = gettext_lazy("SCORM lessons")
    header_icon = "folder-open-inverse"

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page_obj"] = Paginator(selectors.packages_for_admin(), 50).get_page(self.request.GET.get("p"))
        context["form"] = kwargs.get("form") or UploadForm()
        return context

    def post(self, request, *args, **kwargs):
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        lesson = form.cleaned_data["lesson"]
        try:
            package = services.scorm_package_upload(
                actor=request.user, upload=form.cleaned_data["package"], title=form.cleaned_data["title"],
                lesson_id=lesson.pk if lesson else None)
        except DomainError as error:
            form.add_error("package", str(error.message))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, _("“%(title)s” was uploaded (%(count)s files).")
                         % {"title": package.title, "count": package.file_count})
        return redirect("scorm_packages_admin")


@hooks.register("register_admin_urls")
def register_scorm_urls():
    return [path("scorm/", PackagesView.as_view(), name="scorm_packages_admin")]


class ScormMenuItem(MenuItem):
    def is_shown(self, request):
        return selectors.can_manage_scorm_packages(request.user)


@hooks.register("register_admin_menu_item")
def register_scorm_menu_item():
    return ScormMenuItem(_("SCORM lessons"), reverse("scorm_packages_admin"), icon_name="folder-open-inverse",
                         order=470)
