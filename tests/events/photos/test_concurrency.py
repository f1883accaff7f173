"""The same picture uploaded to two meetings at the same moment is still flagged: duplicate scans are serialized."""

import pytest

from events.photos.models import Photo, PhotoFlag
from events.photos.services import photo_upload
from tests.events.factories import jpeg_bytes, make_event, make_staff, photo_storage_fixture, picture, upload  # noqa: F401
from tests.race import race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("photo_storage")]


def test_simultaneous_uploads_of_one_picture_to_two_meetings_are_flagged():
    events = [make_event(), make_event(), make_event(), make_event()]
    staff = make_staff()
    data = jpeg_bytes(picture(77))

    results = race(4, lambda i: photo_upload(event=events[i], uploaded_by=staff, file=upload(data, f"{i}.jpg")))

    assert all(isinstance(result, Photo) for result in results), results
    # Every photo is flagged against each of the three others, in both directions.
    assert PhotoFlag.objects.count() == 4 * 3
    assert set(PhotoFlag.objects.values_list("distance", flat=True)) == {0}
