"""Public (portal) pages of 宣传与编研: group visit booking 参观预约 and its status, online
exhibitions 网上展览 and themed columns 专题栏目, calls for material 征集公告 with the offer form.

No login. Exhibits and images are filtered at every request by what the public may see
(holdings.services.visible_items(AnonymousUser)); drafts are 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lantai.outreach import forms, services
from lantai.outreach import models as m

SESSION_BOOKING = "outreach_booking"


@require_http_methods(["GET", "POST"])
def visit_book(request: HttpRequest) -> HttpResponse:
    """参观预约: choose a slot with places left and describe the group."""
    slots = services.bookable_slots()
    form = forms.BookingForm(request.POST or None, slots=slots)
    if request.method == "POST" and form.is_valid():
        try:
            booking = services.book_visit(form.cleaned_data)
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            request.session[SESSION_BOOKING] = booking.pk
            return redirect("outreach_public:visit_booked")
    return render(
        request,
        "outreach/public/visit_book.html",
        {"form": form, "has_slots": slots.exists()},
        status=400 if request.method == "POST" else 200,
    )


def visit_booked(request: HttpRequest) -> HttpResponse:
    """The booking just made (only in the session that made it)."""
    pk = request.session.get(SESSION_BOOKING)
    booking = m.VisitBooking.objects.select_related("slot").filter(pk=pk).first() if pk else None
    if booking is None:
        return redirect("outreach_public:visit_book")
    return render(request, "outreach/public/visit_booked.html", {"booking": booking})


def visit_status(request: HttpRequest) -> HttpResponse:
    """预约查询: reference and phone together find a booking."""
    form = forms.StatusForm(request.GET or None)
    booking = None
    if request.GET and form.is_valid():
        booking = services.find_booking(form.cleaned_data["reference"], form.cleaned_data["phone"])
        if booking is None:
            form.add_error(None, _("没有找到该预约，请核对预约编号和联系电话。"))
    return render(request, "outreach/public/visit_status.html", {"form": form, "booking": booking})


def exhibition_list(request: HttpRequest) -> HttpResponse:
    columns = m.Column.objects.filter(status=m.PublishStatus.PUBLISHED)
    return render(
        request,
        "outreach/public/exhibition_list.html",
        {
            "exhibitions": services.published_exhibitions(),
            "columns": columns,
            "calls": services.open_calls(),
        },
    )


def exhibition_detail(request: HttpRequest, pk: int) -> HttpResponse:
    exhibition = get_object_or_404(services.published_exhibitions(), pk=pk)
    services.count_view(exhibition)
    return render(
        request,
        "outreach/public/exhibition_detail.html",
        {
            "exhibition": exhibition,
            "sections": services.public_sections(exhibition),
            "calls": services.open_calls().filter(exhibition=exhibition),
        },
    )


def column_detail(request: HttpRequest, pk: int) -> HttpResponse:
    column = get_object_or_404(m.Column, pk=pk, status=m.PublishStatus.PUBLISHED)
    return render(
        request,
        "outreach/public/column_detail.html",
        {
            "column": column,
            "exhibitions": services.published_exhibitions().filter(column=column),
            "articles": column.articles.filter(status=m.PublishStatus.PUBLISHED),
        },
    )


def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(
        m.Article,
        pk=pk,
        status=m.PublishStatus.PUBLISHED,
        column__status=m.PublishStatus.PUBLISHED,
    )
    return render(request, "outreach/public/article_detail.html", {"article": article})


def image(request: HttpRequest, pk: int, size: str) -> HttpResponse:
    """A display image 展示图 of an open item shown in a published exhibition; else 404."""
    path = services.public_image(pk, size)
    if path is None:
        raise Http404(_("图片不存在。"))
    response = FileResponse(path.open("rb"), content_type="image/jpeg")
    # Short: an item restricted later must stop being served soon from caches too.
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_http_methods(["GET", "POST"])
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """征集公告 with the offer form (name, contact, description, photos)."""
    call = get_object_or_404(m.MaterialCall.objects.filter(status=m.PublishStatus.PUBLISHED), pk=pk)
    is_open = services.open_calls().filter(pk=pk).exists()
    form = forms.OfferForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and is_open and form.is_valid():
        data = dict(form.cleaned_data)
        photos = data.pop("photos", [])
        try:
            offer = services.submit_offer(call, data, photos)
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(
                request,
                _("感谢您的支持！登记编号 %(r)s，我们会尽快与您联系。") % {"r": offer.reference},
            )
            return redirect("outreach_public:call_detail", pk=pk)
    return render(
        request,
        "outreach/public/call_detail.html",
        {"call": call, "form": form, "is_open": is_open},
        status=400 if request.method == "POST" else 200,
    )
