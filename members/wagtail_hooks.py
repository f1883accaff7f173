"""Admin wiring for members/: each area registers its viewsets and hooks in its admin.py, imported here."""

from members.engagement import admin as engagement_admin  # noqa: F401
from members.hospitals import admin as hospitals_admin  # noqa: F401
from members.points import admin as points_admin  # noqa: F401
from members.profiles import admin as profiles_admin  # noqa: F401
from members.segments import admin as segments_admin  # noqa: F401
from members.wechat import admin as wechat_admin  # noqa: F401
