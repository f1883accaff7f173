"""Forms for the doctor profile, consents and closing an account. They only parse: every rule is checked by
the services (members/services/profiles.py, consents.py, privacy.py), whose errors land on the fields here."""

from django import forms
from django.utils.translation import gettext_lazy as _

from members.hospitals.models import Department, Hospital, TherapyArea
from members.profiles.models import DoctorProfile
from members.profiles.services import CERTIFICATE_MAX_BYTES


class ProfileForm(forms.Form):
    real_name = forms.CharField(label=_("Real name"), max_length=50,
                                widget=forms.TextInput(attrs={"autocomplete": "name", "class": "weui-input"}))
    gender = forms.ChoiceField(label=_("Gender"), choices=DoctorProfile.Gender.choices,
                               initial=DoctorProfile.Gender.UNDISCLOSED)
    hospital = forms.IntegerField(label=_("Hospital"), widget=forms.HiddenInput,
                                  error_messages={"required": _("Choose your hospital from the list, or propose it.")})
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.order_by("name"),
                                        empty_label=_("Choose…"))
    title = forms.ChoiceField(label=_("Professional title"), choices=DoctorProfile.Title.choices)
    specialties = forms.ModelMultipleChoiceField(
        label=_("Specialties"), queryset=TherapyArea.objects.order_by("name"), required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    licence_number = forms.CharField(
        label=_("Practising licence number"), max_length=40,
        help_text=_("医师执业证书编码: 15 digits."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "110110000000001",
                                      "class": "weui-input"}),
    )
    certificate = forms.FileField(
        label=_("Practising certificate"), required=False,
        help_text=_("A photo (JPEG or PNG) or a PDF of your practising certificate, at most 5 MB. Only our "
                    "verification staff see it."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )
    accept_privacy = forms.BooleanField(label=_("I have read and agree to the privacy policy"), required=False)
    marketing_wechat = forms.BooleanField(label=_("Academic news by WeChat"), required=False)
    marketing_sms = forms.BooleanField(label=_("Academic news by SMS"), required=False)
    marketing_email = forms.BooleanField(label=_("Academic news by email"), required=False)

    def __init__(self, *args, profile: DoctorProfile | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.profile = profile
        if profile is None:
            self.fields["certificate"].required = True
        self.hospital_choice: Hospital | None = None

    def clean_certificate(self):
        upload = self.cleaned_data.get("certificate")
        # Refused before reading it; the service checks the content again.
        if upload and upload.size > CERTIFICATE_MAX_BYTES:
            raise forms.ValidationError(_("The certificate file may be at most 5 MB."))
        return upload


class ClosePhraseForm(forms.Form):
    confirmation = forms.CharField(label=_("Confirmation"), max_length=50,
                                   widget=forms.TextInput(attrs={"autocomplete": "off", "class": "weui-input"}))


class HospitalProposalForm(forms.Form):
    name = forms.CharField(label=_("Hospital name"), max_length=200)
    province = forms.CharField(label=_("Province"), max_length=50)
    city = forms.CharField(label=_("City"), max_length=50)
