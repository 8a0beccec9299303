"""Request and response shapes of the JSON API 接口数据结构."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from lantai.holdings.models import Carrier, Classification, Openness, Retention
from lantai.holdings.tables import SORT_FIELDS

RetentionCode = Literal[tuple(Retention.values)]  # type: ignore[valid-type]
OpennessCode = Literal[tuple(Openness.values)]  # type: ignore[valid-type]
ClassificationCode = Literal[tuple(Classification.values)]  # type: ignore[valid-type]
CarrierCode = Literal[tuple(Carrier.values)]  # type: ignore[valid-type]
SortCode = Literal[tuple(v for name in SORT_FIELDS for v in (name, f"-{name}"))]  # type: ignore[valid-type]


class ErrorOut(Schema):
    detail: str = Field(description="错误说明")
    errors: dict[str, list[str]] = Field(default_factory=dict, description="字段 → 错误信息")


class FondsNameOut(Schema):
    name: str
    start_year: int | None
    end_year: int | None
    note: str


class FondsOut(Schema):
    id: int
    code: str = Field(description="全宗号")
    name: str = Field(description="全宗名称")
    unit_id: int = Field(description="立档单位 id")
    unit_name: str
    start_year: int | None
    end_year: int | None
    names: list[FondsNameOut] = Field(description="全宗名称沿革")


class ItemOut(Schema):
    id: int
    reference_code: str | None = Field(description="档号")
    title: str = Field(description="题名")
    fonds_id: int
    fonds_code: str = Field(description="全宗号")
    category_id: int
    category_code: str = Field(description="门类代码")
    series_id: int | None
    unit_id: int | None = Field(description="移交单位 id")
    volume_id: int | None = Field(description="所属案卷 id")
    catalog_no: str = Field(description="目录号")
    year: int = Field(description="年度")
    retention: str = Field(description="保管期限")
    item_no: int = Field(description="件号")
    doc_number: str = Field(description="文号")
    responsible: str = Field(description="责任者")
    date: dt.date | None = Field(description="形成日期")
    date_start: dt.date | None
    date_end: dt.date | None
    pages: int | None = Field(description="页数")
    classification: str = Field(description="密级")
    openness: str = Field(description="开放状态")
    carrier: str = Field(description="载体")
    keywords: str = Field(description="主题词")
    notes: str = Field(description="备注")
    extra: dict[str, Any] = Field(description="专门字段")
    created_at: dt.datetime
    updated_at: dt.datetime


class ItemPage(Schema):
    items: list[ItemOut]
    sort: str
    next_cursor: str | None = Field(description="下一页：把它作为 after 参数")
    prev_cursor: str | None = Field(description="上一页：把它作为 before 参数")


class ItemQuery(Schema):
    """The item list's filters (the same as the web list's) and paging."""

    fonds: int | None = Field(None, description="全宗 id")
    category: int | None = Field(None, description="门类 id")
    year: int | None = Field(None, description="年度")
    retention: RetentionCode | None = Field(None, description="保管期限")
    openness: OpennessCode | None = Field(None, description="开放状态")
    classification: ClassificationCode | None = Field(None, description="密级")
    carrier: CarrierCode | None = Field(None, description="载体")
    unit: int | None = Field(None, description="移交单位 id")
    series: int | None = Field(None, description="机构(问题) id")
    code: str | None = Field(None, max_length=100, description="档号前缀")
    title: str | None = Field(None, max_length=200, description="题名包含")
    date_from: dt.date | None = Field(None, description="形成日期自")
    date_to: dt.date | None = Field(None, description="形成日期至")
    sort: SortCode = Field("code", description="排序；前缀 - 表示降序")
    after: str | None = Field(None, max_length=2000, description="翻页游标（下一页）")
    before: str | None = Field(None, max_length=2000, description="翻页游标（上一页）")
    limit: int = Field(50, ge=1, le=500, description="每页条数")


class ItemPatch(Schema):
    """Fields to change; leave out what stays. Dates as "YYYY-MM-DD"."""

    title: str | None = None
    responsible: str | None = None
    doc_number: str | None = None
    date: str | None = Field(None, description="形成日期 YYYY-MM-DD")
    date_start: str | None = None
    date_end: str | None = None
    pages: int | None = None
    classification: ClassificationCode | None = None
    openness: OpennessCode | None = None
    carrier: CarrierCode | None = None
    keywords: str | None = None
    notes: str | None = None
    extra: dict[str, Any] | None = None
    unit: int | None = None
    catalog_no: str | None = None
    # Parts of the 档号: refused once a 档号 is assigned (the service says why).
    fonds: int | None = None
    category: int | None = None
    series: int | None = None
    year: int | None = None
    retention: RetentionCode | None = None
    item_no: int | None = None
    volume: int | None = None
    reference_code: str | None = None


class CountsQuery(Schema):
    fonds: int | None = Field(None, description="全宗 id")
    category: int | None = Field(None, description="门类 id")
    year: int | None = Field(None, description="年度")


class CountsOut(Schema):
    volumes: int = Field(description="案卷（卷）")
    items_standalone: int = Field(description="不在案卷中的件")
    items_in_volumes: int = Field(description="卷内文件（件）")
    total: int = Field(description="卷(件) 合计")
