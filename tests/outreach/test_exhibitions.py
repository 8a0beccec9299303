"""Exhibitions 展览 and calls for material 征集公告: only open items are shown (an item restricted
later drops out, with its image), drafts stay hidden, images are resized JPEGs; offers are
validated (size, type, count) and triaged into acquisitions."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from lantai.holdings.models import Item, Openness
from lantai.outreach import services
from lantai.outreach.models import MaterialOffer, OfferStatus, PublishStatus
from lantai.storage.models import Component
from outreach.world import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def exhibition(archivist, make_item):
    exhibition = services.save_exhibition(archivist, {"title": "园区四十年", "summary": "图片展"})
    section = services.save_section(
        archivist, {"exhibition": exhibition, "title": "初创岁月", "sort_order": 1}
    )
    first, second = make_item(title="奠基仪式"), make_item(title="第一栋厂房")
    services.add_exhibit(archivist, section, first, "1988年奠基", 1)
    services.add_exhibit(archivist, section, second, "1990年竣工", 2)
    services.set_published(archivist, exhibition, True)
    return exhibition, first, second


def _image_url(item: Item, size="thumb") -> str:
    component = Component.objects.get(item=item, role="access")
    return reverse("outreach_public:image", args=[component.pk, size])


def test_restricted_item_cannot_be_added(archivist, make_item):
    exhibition = services.save_exhibition(archivist, {"title": "内部展"})
    section = services.save_section(archivist, {"exhibition": exhibition, "title": "一"})
    for openness in (Openness.RESTRICTED, Openness.UNREVIEWED):
        with pytest.raises(ValidationError) as exc:
            services.add_exhibit(archivist, section, make_item(openness=openness))
        assert "开放" in str(exc.value)


def test_keeper_cannot_curate(keeper):
    with pytest.raises(PermissionDenied):
        services.save_exhibition(keeper, {"title": "x"})


def test_public_exhibition_shows_open_items_and_drops_a_restricted_one(client, exhibition):
    exhibition_obj, first, second = exhibition
    url = reverse("outreach_public:exhibition_detail", args=[exhibition_obj.pk])
    page = client.get(url).content.decode()
    assert "奠基仪式" in page and "第一栋厂房" in page
    image = client.get(_image_url(second))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(image.streaming_content))) as thumb:
        assert max(thumb.size) == 400  # 900×600 scaled to the thumbnail edge
    # The second item is restricted after publication (an opening review revised).
    Item.objects.filter(pk=second.pk).update(openness=Openness.RESTRICTED)
    page = client.get(url).content.decode()
    assert "奠基仪式" in page and "第一栋厂房" not in page
    assert client.get(_image_url(second)).status_code == 404
    assert client.get(_image_url(first, "display")).status_code == 200
    exhibition_obj.refresh_from_db()
    assert exhibition_obj.views == 2


def test_drafts_and_non_exhibit_images_are_not_public(client, archivist, exhibition, make_item):
    exhibition_obj, first, _second = exhibition
    loose = make_item(title="未展出")  # open, but not in any exhibition
    assert client.get(_image_url(loose)).status_code == 404
    assert client.get(reverse("outreach_public:image", args=[999999, "thumb"])).status_code == 404
    assert client.get(_image_url(first, "huge")).status_code == 404
    services.set_published(archivist, exhibition_obj, False)
    url = reverse("outreach_public:exhibition_detail", args=[exhibition_obj.pk])
    assert client.get(url).status_code == 404
    assert client.get(_image_url(first)).status_code == 404
    listing = client.get(reverse("outreach_public:exhibition_list")).content.decode()
    assert "园区四十年" not in listing


def test_column_groups_exhibitions_and_articles(client, archivist, exhibition):
    exhibition_obj = exhibition[0]
    column = services.save_column(archivist, {"title": "科技园区专题"})
    services.save_exhibition(
        archivist, {"title": exhibition_obj.title, "column": column}, exhibition_obj
    )
    article = services.save_article(
        archivist, {"column": column, "title": "园区往事", "body": "一段回忆"}
    )
    url = reverse("outreach_public:column_detail", args=[column.pk])
    assert client.get(url).status_code == 404  # draft column
    services.set_published(archivist, column, True)
    page = client.get(url).content.decode()
    assert "园区四十年" in page and "园区往事" not in page  # article still a draft
    services.set_published(archivist, article, True)
    assert "园区往事" in client.get(url).content.decode()


@pytest.fixture
def call(archivist):
    call = services.save_call(archivist, {"title": "征集园区老照片", "text": "欢迎提供"})
    return services.set_published(archivist, call, True)


def _upload(name, content, mime="image/png"):
    return SimpleUploadedFile(name, content, content_type=mime)


def test_offer_with_photos_is_stored(client, call):
    response = client.post(
        reverse("outreach_public:call_detail", args=[call.pk]),
        {
            "name": "李师傅",
            "contact": "13900001111",
            "description": "1992年园区开工照片三张",
            "photos": [_upload("a.png", png_bytes()), _upload("b.jpg", png_bytes(fmt="JPEG"))],
        },
    )
    assert response.status_code == 302
    offer = MaterialOffer.objects.get()
    assert offer.reference.startswith("ZJ-")
    assert sorted(p.mime for p in offer.photos.all()) == ["image/jpeg", "image/png"]
    assert all(p.object.size > 0 for p in offer.photos.all())


@pytest.mark.parametrize(
    ("photos", "message"),
    [
        ([("evil.png", b"<?php echo 1; ?>")], "不是 JPEG 或 PNG"),
        ([("big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 10))], "超过 5 MB"),
        ([(f"{n}.png", None) for n in range(6)], "最多上传 5 张"),
    ],
)
def test_offer_upload_validation(client, call, photos, message):
    files = [
        _upload(name, content if content is not None else png_bytes()) for name, content in photos
    ]
    response = client.post(
        reverse("outreach_public:call_detail", args=[call.pk]),
        {"name": "王", "contact": "123", "description": "老照片", "photos": files},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MaterialOffer.objects.exists()


def test_offer_requires_fields_and_an_open_call(client, archivist, call):
    response = client.post(reverse("outreach_public:call_detail", args=[call.pk]), {"name": ""})
    assert response.status_code == 400 and "这个字段是必填项" in response.content.decode()
    services.set_published(archivist, call, False)
    assert client.get(reverse("outreach_public:call_detail", args=[call.pk])).status_code == 404
    with pytest.raises(ValidationError):
        services.submit_offer(call, {"name": "a", "contact": "b", "description": "c"}, [])


def test_triage_accept_creates_acquisition_and_decline_needs_a_note(archivist, call):
    offer = services.submit_offer(call, {"name": "赵", "contact": "1", "description": "奖状"}, [])
    offer = services.triage_offer(archivist, offer, OfferStatus.ACCEPTED, acquisition=True)
    assert offer.acquisition is not None and offer.acquisition.donor_name == "赵"
    assert offer.acquisition.status == "negotiating"
    with pytest.raises(ValidationError):
        services.triage_offer(archivist, offer, OfferStatus.DECLINED, "重复")  # already done
    other = services.submit_offer(call, {"name": "钱", "contact": "2", "description": "x"}, [])
    with pytest.raises(ValidationError):
        services.triage_offer(archivist, other, OfferStatus.DECLINED, "")
    other = services.triage_offer(archivist, other, OfferStatus.DECLINED, "与馆藏重复")
    assert other.status == OfferStatus.DECLINED and other.acquisition is None
    assert call.status == PublishStatus.PUBLISHED
