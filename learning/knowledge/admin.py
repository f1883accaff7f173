"""Admin of questions to medical: the queue (open first), one question with the answer form, and turning an answer
into a knowledge-base entry (a draft that enters the medical → compliance review)."""

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

from cms.pages.models import Product
from engage.core.errors import DomainError
from learning.knowledge import selectors, services
from learning.knowledge.models import KnowledgeKind, QuestionStatus

PER_PAGE = 50


class AnswerForm(forms.Form):
    answer = forms.CharField(label=gettext_lazy("Answer"), max_length=services.MAX_ANSWER_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 8}))


class PublishForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title of the entry"), max_length=255)
    kind = forms.ChoiceField(label=gettext_lazy("Kind of entry"), choices=KnowledgeKind.choices)
    product = forms.ModelChoiceField(label=gettext_lazy("Product"), queryset=Product.objects.order_by("name"),
                                     required=False)


class MedicalOnlyMixin:
    def dispatch(self, request, *args, **kwargs):
        if not selectors.can_answer_medical_questions(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class QuestionQueueView(MedicalOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "learning/knowledge/admin/queue.html"
    page_title = gettext_lazy("Questions to medical")
    header_icon = "help"

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "")
        status = status if status in QuestionStatus.values else ""
        page = Paginator(selectors.questions_for_medical(status=status), PER_PAGE).get_page(self.request.GET.get("p"))
        context.update(page_obj=page, status=status, statuses=QuestionStatus.choices)
        return context


class QuestionView(MedicalOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "learning/knowledge/admin/question.html"
    header_icon = "help"

    def dispatch(self, request, *args, **kwargs):
        if not selectors.can_answer_medical_questions(request.user):
            raise PermissionDenied
        try:
            self.question = selectors.access_knowledge_question(user=request.user,
                                                                knowledge_question_id=kwargs["question_id"])
        except DomainError:
            raise PermissionDenied from None
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Question to medical")

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(),
                {"url": reverse("knowledge_questions_admin"), "label": _("Questions to medical")},
                {"url": "", "label": _("Question to medical")}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        question = self.question
        context.update(
            question=question,
            answer_form=kwargs.get("answer_form") or AnswerForm(),
            publish_form=kwargs.get("publish_form") or PublishForm(initial={
                "title": question.question[:100], "product": question.product_id}),
        )
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        try:
            if action == "answer":
                form = AnswerForm(request.POST)
                if not form.is_valid():
                    return self.render_to_response(self.get_context_data(answer_form=form), status=400)
                services.question_answer(actor=request.user, question_id=self.question.pk,
                                         answer=form.cleaned_data["answer"])
                messages.success(request, _("The answer was sent to the rep."))
            elif action == "publish":
                form = PublishForm(request.POST)
                if not form.is_valid():
                    return self.render_to_response(self.get_context_data(publish_form=form), status=400)
                product = form.cleaned_data["product"]
                entry = services.question_publish_as_entry(
                    actor=request.user, question_id=self.question.pk, title=form.cleaned_data["title"],
                    kind=form.cleaned_data["kind"], product_id=product.pk if product else None)
                messages.success(request, _("“%(title)s” was created as a draft and submitted for medical and "
                                            "compliance review.") % {"title": entry.title})
            else:
                messages.error(request, _("Nothing was done."))
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("knowledge_question_admin", self.question.pk)


@hooks.register("register_admin_urls")
def register_knowledge_urls():
    return [
        path("knowledge/questions/", QuestionQueueView.as_view(), name="knowledge_questions_admin"),
        path("knowledge/questions/<int:question_id>/", QuestionView.as_view(), name="knowledge_question_admin"),
    ]


class MedicalMenuItem(MenuItem):
    def is_shown(self, request):
        return selectors.can_answer_medical_questions(request.user)


@hooks.register("register_admin_menu_item")
def register_knowledge_menu_item():
    return MedicalMenuItem(_("Questions to medical"), reverse("knowledge_questions_admin"), icon_name="help",
                           order=460)
