"""Read-only editor panels of the meeting page."""

from wagtail.admin.panels import Panel


class AcademicSharePanel(Panel):
    """The academic minutes' share of the agenda being edited or reviewed, with a warning under the floor."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "events/pages/admin/academic_share_panel.html"

        def get_context_data(self, parent_context=None):
            from events.pages.selectors import (
                event_academic_share,  # the page's panel: the selectors import the page model
            )

            context = super().get_context_data(parent_context)
            context["share"] = event_academic_share(event=self.instance)
            return context
