"""The role matrix of the content admin: the Product snippet and adding content pages."""

import pytest
from django.urls import reverse

from cms.pages.models import ArticlePage, Product
from members.hospitals.models import TherapyArea
from tests.cms.factories import area_page

pytestmark = pytest.mark.django_db
ROLES = ["doctor", "rep", "marketing", "medical_reviewer", "compliance", "admin"]


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
def test_product_snippet_role_matrix(client, role_user, role):
    product = Product.objects.create(name="糖稳宁", generic_name="达格列净片",
                                     therapy_area=TherapyArea.objects.get(code="diabetes"))
    if role != "anonymous":
        client.force_login(role_user(role))
    listing = client.get(reverse("wagtailsnippets_cms_product:list"))
    edit = client.get(reverse("wagtailsnippets_cms_product:edit", args=[product.pk]))
    client.post(reverse("wagtailsnippets_cms_product:add"), {"name": "心安平", "generic_name": "",
                                                             "approval_number": ""})
    if role in ("anonymous", "doctor", "rep"):
        assert listing.status_code == 302 and "/admin/login/" in listing["Location"]
        assert not Product.objects.filter(name="心安平").exists()
        return
    assert listing.status_code == 200 and "糖稳宁" in listing.content.decode()
    may_edit = role in ("marketing", "admin")
    assert (edit.status_code == 200) is may_edit
    assert Product.objects.filter(name="心安平").exists() is may_edit


@pytest.mark.parametrize("role", ROLES)
def test_who_may_open_the_add_article_form(client, role_user, role):
    index = area_page()
    client.force_login(role_user(role))
    url = reverse("wagtailadmin_pages:add", args=["cms", "articlepage", index.pk])
    response = client.get(url)
    if role in ("marketing", "admin"):
        assert response.status_code == 200
    else:
        assert response.status_code in (302, 403)
    assert not ArticlePage.objects.exists()
