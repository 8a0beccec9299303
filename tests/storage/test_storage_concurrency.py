"""Two writers racing for one key: exactly one content wins, the other is refused, and the
stored bytes are the winner's (the unique row is inserted before the file becomes visible)."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from lantai.storage import services
from lantai.storage.models import StoredObject


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same", [False, True])
def test_racing_puts_of_one_key(offsite, primary, same):
    contents = [b"A" * 300_000, (b"A" if same else b"B") * 300_000]
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def put(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = services.put_file(io.BytesIO(contents[i]), "race/a.bin", purpose="t")
        except Exception as exc:  # recorded for the assertions below
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=put, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stored = [o for o in outcomes if isinstance(o, StoredObject)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert StoredObject.objects.count() == 1
    obj = StoredObject.objects.get()
    if same:
        assert len(stored) == 2 and {o.pk for o in stored} == {obj.pk}
    else:
        assert len(stored) == 1 and len(refused) == 1, outcomes
    winner = next(c for c in contents if hashlib.sha256(c).hexdigest() == obj.sha256)
    for location in (primary, offsite):
        assert (Path(location.config["root"]) / obj.key).read_bytes() == winner
    assert services.verify_object(obj) == {"main": "ok", "copy": "ok"}
