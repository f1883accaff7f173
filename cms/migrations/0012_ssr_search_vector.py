"""The PostgreSQL full-text path of the Chinese search: one tsvector of jieba terms per live content page with a
GIN index, filled from the existing ContentSearchTerm rows (on SQLite the table stays empty and unindexed), and
the terms' index in weight order that picks the search's candidates."""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

INDEX = "cms_contentsearchdocument_vector_gin"


def create_gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX {INDEX} ON cms_contentsearchdocument USING gin (vector)")


def drop_gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "INSERT INTO cms_contentsearchdocument (page_id, vector) "
            "SELECT page_id, array_to_tsvector(array_agg(term)) FROM cms_contentsearchterm GROUP BY page_id"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0011_chinese_workflow_names"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContentSearchDocument",
            fields=[
                ("page", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                              related_name="search_document", serialize=False,
                                              to="cms.contentpage")),
                ("vector", django.contrib.postgres.search.SearchVectorField()),
            ],
        ),
        migrations.AddIndex(
            model_name="contentsearchterm",
            index=models.Index(fields=["term", "-weight", "-page"], name="contentsearchterm_rank_idx"),
        ),
        migrations.RunPython(create_gin_index, drop_gin_index),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
