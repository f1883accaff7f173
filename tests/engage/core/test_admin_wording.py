"""The admin and the portal read right in Chinese, walked on the seeded demo in zh-hans:

- Wagtail's own words stay Wagtail's: our catalogue must not turn its "Title" into 职称, "Live" into 直播 or
  "Pages" into 分页 (our strings that share those English words carry a pgettext context);
- no English is left on the screen beyond an allow-list (brand, units, medical abbreviations, codes people use);
- no stored code (a choice value, an audit action or object type) is shown where its label belongs.
"""

import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.test import Client

pytestmark = pytest.mark.timeout(900)  # the module seeds the whole demo portal once, in the first test
ZH = {"Accept-Language": "zh-hans"}
# Words Wagtail's screens must not show: our catalogue's meanings of Wagtail's English words.
WRONG_ON_WAGTAIL_SCREENS = ("职称", "直播", "分页")
# English a Chinese reader expects: the brand, products, units, abbreviations, file formats, codes people type.
ALLOWED = {
    "engage", "wagtail", "kol", "csv", "xlsx", "pdf", "api", "url", "sms", "wechat", "ip", "id", "nps", "rmb",
    "hba1c", "sglt2", "egfr", "her2", "ldl", "glp", "tki", "dpp", "copd", "nmpa", "qr", "demo", "admin", "tab",
    "slug", "seo", "html", "json", "utc", "gmt", "cst", "mg", "ml", "mmol", "kg", "ok", "vip", "app", "ios",
    "english", "excel",  # the language switch names English in English; Excel is a product
}
# Data, not wording: codes with digits, e-mail addresses, links, acronyms, file names, identifiers people type
# (snake_case rule codes; stored choice codes are caught by the raw-code check instead), and the product names of
# the demo catalogue.
DATA_WORD = re.compile(r"[\w.-]*\d[\w.-]*|[\w.+-]+@[\w.-]+|https?://\S+|[A-Z]{2,}[\w-]*|\w+\.py\b|"
                       r"\b[a-z]+(?:_[a-z]+)+\b|\bUpToDate\b")


class _Text(HTMLParser):
    """Visible text: no scripts, styles, templates or noscript; the hidden screen-reader-only spans still count."""

    SKIP = {"script", "style", "template", "noscript", "textarea", "code", "pre"}

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        elif self._skip == 0:
            self.parts += [v for k, v in attrs if k in ("placeholder",) and v]

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if self._skip == 0 and data.strip():
            self.parts.append(data.strip())


HIDDEN_LEAF = re.compile(r"<(\w+)\b[^>]*\shidden\b[^>]*>[^<]*</\1>")  # e.g. Wagtail's hidden counters


def visible_text(html: str) -> list[str]:
    html = HIDDEN_LEAF.sub("", html)
    parser = _Text()
    parser.feed(html)
    return parser.parts


def english_words(parts: list[str]) -> set[str]:
    words = set()
    for part in parts:
        for word in re.findall(r"[A-Za-z][A-Za-z'’]{2,}", DATA_WORD.sub(" ", part)):
            if word.lower() not in ALLOWED:
                words.add(word)
    return words


def stored_codes() -> set[str]:
    """Every choice value of our models that reads like a word (confirmed, general, earn, marketing_sms …)."""
    codes = set()
    for model in apps.get_models():
        if not model.__module__.startswith(("engage.", "members.", "cms.", "events.", "learning.")):
            continue
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "choices", None) or []:
                if isinstance(value, str) and re.fullmatch(r"[a-z][a-z_]{3,}", value):
                    codes.add(value)
    return codes


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo portal, seeded once for the module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", "--force", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def admin_client(demo, db):
    from members.accounts.models import User

    client = Client(headers=ZH)
    client.force_login(User.objects.get(email="admin@demo.engage.local"))
    return client


def _objects():
    from wagtail.models import Page

    from engage.audit.models import AuditEntry
    from learning.assignments.models import Assignment
    from learning.certificates.models import Certificate
    from members.profiles.models import DoctorProfile

    return {
        "home": Page.objects.filter(depth=2).first().pk,
        "doctor": DoctorProfile.objects.filter(status="verified").order_by("pk").first().user_id,
        "audit": AuditEntry.objects.filter(action="event.checkin").first() or AuditEntry.objects.first(),
        "assignment": Assignment.objects.order_by("pk").values_list("pk", flat=True).first(),
        "certificate": Certificate.objects.order_by("pk").values_list("pk", flat=True).first(),
    }


WAGTAIL_SCREENS = ["/admin/", "/admin/pages/", "/admin/pages/{home}/", "/admin/snippets/", "/admin/workflows/list/",
                   "/admin/reports/workflow/"]
OUR_SCREENS = ["/admin/audit/", "/admin/audit/inspect/{audit}/", "/admin/outbox/", "/admin/doctor-360/",
               "/admin/doctor-360/{doctor}/", "/admin/verification/", "/admin/hospital_imports/",
               "/admin/hospitals/", "/admin/segmentation/", "/admin/points_ledger/", "/admin/points_rules/",
               "/admin/transfers_of_value/", "/admin/events/registrations/", "/admin/events/checkin/",
               "/admin/sales_teams/", "/admin/sales_teams/new/", "/admin/learning_curricula/",
               "/admin/learning_curricula/new/", "/admin/learning_assignments/", "/admin/learning_assignments/new/",
               "/admin/learning_assignments/inspect/{assignment}/", "/admin/learning_product_requirements/",
               "/admin/learning_certificates/", "/admin/learning_certificates/inspect/{certificate}/",
               "/admin/learning_certificates/revoke/{certificate}/"]


def _get(client, url: str) -> str:
    objects = _objects()
    url = url.format(home=objects["home"], doctor=objects["doctor"], audit=getattr(objects["audit"], "pk", 0),
                     assignment=objects["assignment"], certificate=objects["certificate"])
    response = client.get(url, follow=True)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.mark.parametrize("url", WAGTAIL_SCREENS)
def test_wagtail_screens_keep_wagtails_own_chinese_words(admin_client, url):
    html = _get(admin_client, url)
    chrome = re.sub(r'<a [^>]*href="/admin/pages/\d+/edit/"[^>]*>.*?</a>', "", html, flags=re.S)  # page titles
    text = " ".join(visible_text(chrome))
    assert not [word for word in WRONG_ON_WAGTAIL_SCREENS if word in text], url


@pytest.mark.parametrize("url", WAGTAIL_SCREENS + OUR_SCREENS)
def test_admin_screens_show_no_english_leftovers_and_no_raw_codes(admin_client, url):
    parts = visible_text(_get(admin_client, url))
    assert english_words(parts) == set(), url
    shown_codes = {part for part in parts if part in stored_codes()}
    assert not shown_codes, (url, shown_codes)


PORTAL_PAGES = ["/", "/members/me/", "/members/me/points/", "/members/me/points/rewards/", "/inbox/"]


@pytest.mark.parametrize("url", PORTAL_PAGES)
def test_the_doctors_portal_pages_show_no_english_leftovers_and_no_raw_codes(demo, db, url):
    from members.accounts.models import User

    client = Client(headers=ZH)
    client.force_login(User.objects.get(mobile="+8613900000001"))  # the demo doctor
    parts = visible_text(_get(client, url))
    assert english_words(parts) == set(), url
    shown_codes = {part for part in parts if part in stored_codes()}
    assert not shown_codes, (url, shown_codes)
