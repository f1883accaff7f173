"""Page models with Wagtail's test helpers: where pages may be created, the admin creating them, rendering."""

from django.contrib.auth.models import Group
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from cms.pages.models import (
    ArticlePage,
    Audience,
    ContentDocumentLink,
    ContentPage,
    HomePage,
    LiteraturePage,
    TherapyAreaPage,
    VideoPage,
)
from members.hospitals.models import TherapyArea
from tests.cms.factories import approve_and_publish, area_page, make_article, make_document, make_literature, make_video
from tests.factories import UserFactory


class TestPageTree(WagtailPageTestCase):
    def test_content_lives_under_therapy_areas_under_home(self):
        from events.pages.models import EventIndexPage
        from learning.courses.models import CourseIndexPage
        from learning.knowledge.models import KnowledgeIndexPage

        # meetings: tests/events; courses and the reps' knowledge base: tests/learning
        self.assertAllowedSubpageTypes(HomePage, {TherapyAreaPage, EventIndexPage, CourseIndexPage,
                                                  KnowledgeIndexPage})
        self.assertAllowedSubpageTypes(TherapyAreaPage, {ArticlePage, LiteraturePage, VideoPage})
        self.assertAllowedSubpageTypes(ArticlePage, set())
        self.assertCanCreateAt(TherapyAreaPage, ArticlePage)
        self.assertCanNotCreateAt(HomePage, ArticlePage)
        self.assertCanNotCreateAt(TherapyAreaPage, ContentPage)  # only the concrete types are created
        self.assertEqual(ContentPage._meta.get_field("audience").default, Audience.VERIFIED)


class TestAdminCreatesContent(WagtailPageTestCase):
    def setUp(self):
        super().setUp()
        admin = UserFactory(is_superuser=True, is_staff=True)
        admin.groups.add(Group.objects.get(name="admin"))
        self.client.force_login(admin)
        self.index = area_page("diabetes")
        self.area = TherapyArea.objects.get(code="diabetes")

    def _form(self, title, slug, fields):
        """Admin form data: nested_form_data flattens lists, so the multiple-choice field is added after."""
        data = nested_form_data({"title": title, "slug": slug, "summary": "要点摘要", "audience": "verified",
                                 "tags": "指南解读", **fields})
        data["therapy_areas"] = [self.area.pk]
        return data

    def test_article_with_every_block(self):
        pdf = make_document()
        data = self._form("SGLT2抑制剂的心肾获益", "sglt2", {
            "body": streamfield([
                ("rich_text", rich_text("<p>SGLT2抑制剂降低心衰住院风险。</p>")),
                ("heading", {"text": "临床要点", "level": "h2"}),
                ("quote", {"text": "规范诊疗。", "attribution": "编辑部"}),
                ("callout", {"kind": "warning", "title": "注意", "text": rich_text("<p>肾功能不全时调整剂量。</p>")}),
                ("document", {"document": pdf.pk, "title": "指南", "description": ""}),
                ("video", {"video": "", "stream_url": "https://cdn.example.cn/a/index.m3u8", "poster": "",
                           "caption": "讲解"}),
                ("references", {"heading": "参考文献", "references": streamfield([
                    ("item", {"citation": "Zinman B, et al. N Engl J Med. 2015;373:2117-28.",
                              "doi": "10.1056/NEJMoa1504720", "pmid": "26378978"}),
                ])}),
            ]),
        })
        # Saved as a draft: publishing needs medical and compliance approval (tests/cms/test_review.py).
        self.assertCanCreate(self.index, ArticlePage, data, publish=False)
        page = approve_and_publish(ArticlePage.objects.get(title="SGLT2抑制剂的心肾获益"))
        self.assertTrue(page.live)
        self.assertEqual([a.code for a in page.therapy_areas.all()], ["diabetes"])
        self.assertEqual([t.name for t in page.tags.all()], ["指南解读"])
        self.assertTrue(ContentDocumentLink.objects.filter(page=page, document=pdf).exists())
        html = self.client.get(page.url).content.decode()
        self.assertIn('href="https://doi.org/10.1056/NEJMoa1504720"', html)
        self.assertIn('href="https://pubmed.ncbi.nlm.nih.gov/26378978/"', html)
        self.assertIn("engage-callout_warning", html)
        self.assertIn(f'href="{pdf.url}"', html)
        self.assertIn('type="application/x-mpegURL"', html)

    def test_article_rejects_bad_doi_pmid_and_video_without_source(self):
        data = self._form("坏数据", "bad", {
            "body": streamfield([
                ("references", {"heading": "", "references": streamfield([
                    ("item", {"citation": "x", "doi": "doi:10.1/abc", "pmid": "12a"}),
                ])}),
                ("video", {"video": "", "stream_url": "", "poster": "", "caption": ""}),
            ]),
        })
        with self.assertRaisesMessage(AssertionError, "Validation errors"):
            self.assertCanCreate(self.index, ArticlePage, data)
        self.assertFalse(ArticlePage.objects.filter(title="坏数据").exists())

    def test_literature_and_video(self):
        pdf = make_document(name="fulltext.pdf")
        self.assertCanCreate(self.index, LiteraturePage, self._form("达格列净肾脏结局", "dapa", {
            "journal": "新英格兰医学杂志", "authors": "Heerspink HJL, et al.",
            "year": 2020, "doi": "10.1056/NEJMoa2024816", "pmid": "32970396",
            "abstract": rich_text("<p>降低肾病进展风险。</p>"), "full_text": pdf.pk, "download_allowed": "on",
        }), publish=False)
        self.assertCanCreate(self.index, VideoPage, self._form("胰岛素注射", "insulin", {
            "stream_url": "https://cdn.example.cn/v/index.m3u8",
            "duration": "00:15:00", "transcript": "今天讲胰岛素。",
            "chapters": streamfield([("chapter", {"start": "2:30", "title": "部位轮换"})]),
        }), publish=False)
        video = VideoPage.objects.get(title="胰岛素注射")
        self.assertEqual(video.chapters[0].value["title"], "部位轮换")

    def test_literature_download_needs_a_file_and_video_needs_exactly_one_source(self):
        with self.assertRaisesMessage(AssertionError, "download_allowed"):
            self.assertCanCreate(self.index, LiteraturePage, self._form("无全文", "no-pdf", {
                "journal": "J", "authors": "A", "year": 2020,
                "abstract": rich_text("<p>x</p>"), "download_allowed": "on",
            }))
        with self.assertRaisesMessage(AssertionError, "stream_url"):
            self.assertCanCreate(self.index, VideoPage, self._form("无视频", "no-video", {
                "stream_url": "http://not-hls.example.cn/video.mp4",
                "chapters": streamfield([]),
            }))


class TestRendering(WagtailPageTestCase):
    def test_every_type_renders_for_a_reader_who_may_read_it(self):
        reader = UserFactory()
        reader.groups.add(Group.objects.get(name="marketing"))
        index = area_page("oncology")
        table = {"first_row_is_table_header": True, "first_col_is_header": False, "table_caption": "分期",
                 "data": [["分期", "治疗"], ["IA", "手术"]]}
        article = make_article(index, body=[("table", table), ("quote", {"text": "引文", "attribution": ""})])
        literature = make_literature(index)
        video = make_video(index)
        for page in (index, article, literature, video, HomePage.objects.get()):
            self.assertPageIsRenderable(page, user=reader)
        html = self.client.get(article.url).content.decode()  # logged out again: a verified-only page
        self.assertNotIn("<th scope=\"col\">分期</th>", html)
        self.client.force_login(reader)
        html = self.client.get(article.url).content.decode()
        self.assertIn('<th scope="col">分期</th>', html)
        self.assertIn("<td>手术</td>", html)

    def test_script_in_rich_text_is_not_executed(self):
        reader = UserFactory()
        reader.groups.add(Group.objects.get(name="admin"))
        self.client.force_login(reader)
        body = [("rich_text", '<p>正文</p><script>alert(1)</script><p onclick="x()">点</p>'),
                ("quote", {"text": "<script>alert(2)</script>", "attribution": ""})]
        article = make_article(body=body, audience=Audience.PUBLIC)
        html = self.client.get(article.url).content.decode()
        self.assertIn("<p>正文</p>", html)
        self.assertNotIn("<script>alert(1)", html)
        self.assertNotIn("onclick", html)
        self.assertNotIn("alert(2)</script>", html)
        self.assertIn("&lt;script&gt;alert(2)", html)
