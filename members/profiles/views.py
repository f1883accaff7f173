"""Doctor-facing pages for the profile, the certificate, consents and personal data rights. Each view parses,
calls one service or selector, and renders."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engage.core.clients import client_ip
from engage.core.errors import DomainError, NotFound
from members.consents import selectors as consents_selectors
from members.consents import services as consent_services
from members.consents.models import Consent, ConsentKind
from members.hospitals import selectors as hospitals_selectors
from members.hospitals.models import Hospital
from members.privacy import services as privacy_services
from members.profiles import services as profile_services
from members.profiles.forms import ClosePhraseForm, HospitalProposalForm, ProfileForm
from members.profiles.models import DoctorProfile
from members.profiles.selectors import access_certificate

FORM_FIELDS = {"real_name", "gender", "hospital", "department", "title", "specialties", "licence_number",
               "certificate", "accept_privacy"}


def _client(request) -> dict:
    return {"ip_address": client_ip(request), "user_agent": request.META.get("HTTP_USER_AGENT", "")[:400]}


def _language(request) -> str:
    return "en" if (get_language() or "").startswith("en") else "zh-hans"


def _hospital_search_url() -> str:
    """The shared hospitals API when it is installed; this module's own search otherwise."""
    try:
        resolve("/api/v1/hospitals")
        return "/api/v1/hospitals"
    except Resolver404:
        return reverse("profile_hospital_search")


def _add_service_error(form, exc: DomainError) -> None:
    field = exc.details.get("field")
    form.add_error(field if field in FORM_FIELDS else None, str(exc.message))


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def profile_edit(request):
    user = request.user
    profile = (
        DoctorProfile.objects.filter(user=user).select_related("hospital", "department")
        .prefetch_related("specialties").first()
    )
    privacy_policy = consents_selectors.policy_current(ConsentKind.PRIVACY, _language(request))
    standing = set(
        Consent.objects.filter(user=user, withdrawn_at__isnull=True).values_list("kind", flat=True)
    )
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES, profile=profile)
        if form.is_valid():
            cleaned = form.cleaned_data
            data = profile_services.ProfileInput(
                real_name=cleaned["real_name"], gender=cleaned["gender"], hospital_id=cleaned["hospital"],
                department_id=cleaned["department"].pk, title=cleaned["title"],
                specialty_ids=[a.pk for a in cleaned["specialties"]], licence_number=cleaned["licence_number"],
            )
            try:
                profile_services.profile_complete(
                    user=user, data=data, certificate=cleaned.get("certificate") or None,
                    privacy=cleaned["accept_privacy"],
                    marketing={kind: bool(cleaned[kind]) for kind in consent_services.MARKETING_KINDS},
                    method=Consent.Method.WECHAT if "MicroMessenger" in request.META.get("HTTP_USER_AGENT", "")
                    else Consent.Method.WEB_FORM,
                    **_client(request),
                )
            except DomainError as exc:
                _add_service_error(form, exc)
            else:
                messages.success(request, _("Your profile was saved and is waiting for verification.")
                                 if profile is None or profile.status != DoctorProfile.Status.VERIFIED
                                 else _("Your profile was saved."))
                return redirect("member_home")
    else:
        initial = {kind: kind in standing for kind in consent_services.MARKETING_KINDS}
        initial["accept_privacy"] = consents_selectors.consent_active(user, ConsentKind.PRIVACY)
        if profile is not None:
            initial.update(
                real_name=profile.real_name, gender=profile.gender, hospital=profile.hospital_id,
                department=profile.department_id, title=profile.title, licence_number=profile.licence_number,
                specialties=[a.pk for a in profile.specialties.all()],
            )
        form = ProfileForm(initial=initial, profile=profile)

    hospital_id = form["hospital"].value()
    selected = None
    try:
        selected = Hospital.objects.filter(pk=int(hospital_id)).first() if hospital_id else None
    except (TypeError, ValueError):
        selected = None
    return render(request, "members/profiles/profile_form.html", {
        "form": form,
        "profile": profile,
        "privacy_policy": privacy_policy,
        "hospital_selected": selected,
        "hospital_search_url": _hospital_search_url(),
        "proposal_form": HospitalProposalForm(),
    })


@login_required
@require_GET
def hospital_search(request):
    """JSON for the picker: active hospitals matching `q` (name, alias, pinyin initials, city) and the
    signed-in user's own proposals."""
    q = request.GET.get("q", "")
    try:
        limit = max(1, min(int(request.GET.get("limit", 20)), 50))
    except ValueError:
        limit = 20
    found = list(hospitals_selectors.hospital_search(q=q, limit=limit))
    q_clean = "".join(ch for ch in q if ch.isprintable()).strip()[:50]
    own = Hospital.objects.filter(status=Hospital.Status.PROPOSED, proposed_by=request.user)
    if q_clean:
        own = own.filter(Q(name__icontains=q_clean) | Q(city__icontains=q_clean))
    items = [*own[:5], *found]
    return JsonResponse({"items": [
        {"id": h.pk, "name": h.name, "city": h.city, "province": h.province, "level_grade": h.level_grade,
         "status": h.status}
        for h in items
    ]})


@login_required
@require_POST
def hospital_propose(request):
    form = HospitalProposalForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"code": "invalid_hospital_proposal",
                             "message": _("Give the hospital's full name, province and city."),
                             "errors": form.errors.get_json_data()}, status=400)
    try:
        hospital = profile_services.hospital_propose(user=request.user, **form.cleaned_data)
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse({"id": hospital.pk, "name": hospital.name, "city": hospital.city,
                         "province": hospital.province, "status": hospital.status}, status=201)


@login_required
@never_cache
@require_GET
def certificate_file(request, profile_id: int):
    """The certificate, to its owner and to verification staff only; never cached, never at a public URL."""
    try:
        profile = access_certificate(user=request.user, profile_id=profile_id)
    except NotFound:
        raise Http404 from None  # no hint that the profile exists
    try:
        handle = profile.certificate.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    extension = profile.certificate.name.rsplit(".", 1)[-1]
    response = FileResponse(handle, content_type=profile.certificate_content_type or "application/octet-stream",
                            as_attachment=False, filename=f"certificate-{profile.pk}.{extension}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def consent_withdraw(request, kind: str):
    try:
        withdrawn = consent_services.consent_withdraw(user=request.user, kind=kind, **_client(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        if withdrawn is not None:
            messages.success(request, _("Withdrawn. We will no longer contact you this way."))
    return redirect(reverse("member_home") + "#consents")


@login_required
@require_POST
def consent_give(request, kind: str):
    try:
        consent_services.consent_give(user=request.user, kind=kind, **_client(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Thank you, your consent was recorded."))
    return redirect(reverse("member_home") + "#consents")


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def privacy_reconsent(request):
    """No consent to the privacy policy in force (it changed, or was never given): show it and ask."""
    policy = consents_selectors.policy_current(ConsentKind.PRIVACY, _language(request))
    next_url = _safe_next(request, reverse("member_home"))
    error = ""
    if request.method == "POST":
        if request.POST.get("accept") != "1":
            error = _("Agree to the privacy policy to continue.")
        else:
            try:
                consent_services.consent_give(user=request.user, kind=ConsentKind.PRIVACY, **_client(request))
            except DomainError as exc:
                error = str(exc.message)
            else:
                messages.success(request, _("Thank you, your consent was recorded."))
                return redirect(next_url)
    return render(request, "members/consents/privacy_reconsent.html",
                  {"policy": policy, "next": next_url, "error": error,
                   "changed": consents_selectors.privacy_consent_outdated(request.user)}, status=400 if error else 200)


@login_required
@never_cache
@require_GET
def data_export(request, fmt: str):
    if fmt not in ("json", "xlsx"):
        raise Http404
    data = privacy_services.personal_data_export(user=request.user)
    privacy_services.personal_data_exported(user=request.user, fmt=fmt)
    stamp = timezone.localtime().strftime("%Y%m%d")
    if fmt == "json":
        response = HttpResponse(privacy_services.personal_data_json(data), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="engage-my-data-{stamp}.json"'
    else:
        response = HttpResponse(
            privacy_services.personal_data_xlsx(data),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="engage-my-data-{stamp}.xlsx"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def account_close(request):
    phrase = privacy_services.CLOSE_PHRASES[1 if _language(request) == "en" else 0]
    form = ClosePhraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            privacy_services.account_close(user=request.user, confirmation=form.cleaned_data["confirmation"])
        except DomainError as exc:
            form.add_error("confirmation", str(exc.message))
        else:
            logout(request)
            messages.success(request, _("Your account is closed and your personal details were erased."))
            return redirect("/")
    status = 400 if request.method == "POST" else 200
    return render(request, "members/profiles/account_close.html", {"form": form, "phrase": phrase}, status=status)
