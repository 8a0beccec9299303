"""Roles 角色 and the permissions each one carries.

Roles are Django groups whose names are the role codes below; the permissions of each group
are kept in step with ROLE_PERMISSIONS after every migrate (see signals.sync_roles). The three
security roles (三员: 系统管理员, 安全保密员, 安全审计员) are kept apart: a user holding one of
them may hold no other role (GB/T 39784-2021, 档办发〔2017〕3号).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SYSADMIN = "sysadmin", _("系统管理员")
    SECADMIN = "secadmin", _("安全保密员")
    AUDITOR = "auditor", _("安全审计员")
    ARCHIVIST = "archivist", _("馆员")
    KEEPER = "keeper", _("库管员")
    SUPERVISOR = "supervisor", _("业务指导")
    UNIT_OFFICER = "unit_officer", _("单位档案员")
    PUBLIC = "public", _("社会公众")


#: 三员: each excludes every other role.
SEPARATED_ROLES = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})

#: Permission codenames ("app_label.codename") each role carries.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SYSADMIN: [
        "ingest.manage_tokens",  # issue and revoke units' API tokens
        "accounts.manage_users",  # create, deactivate, reset passwords; not roles
        "holdings.manage_codes",  # units, fonds, categories, 档号 rules
        "livelihood.manage_partners",  # 协作馆 and their API tokens (跨馆出证)
        "jobs.view_job",
    ],
    Role.SECADMIN: [
        "accounts.assign_roles",  # grant and revoke roles (授权)
        "accounts.view_user",
    ],
    Role.AUDITOR: [
        "audit.view_auditentry",
        "audit.verify_chain",
    ],
    Role.ARCHIVIST: [
        "ingest.submit_sip",
        "ingest.view_sip",
        "ingest.manage_checks",
        "preservation.download_dip",
        "preservation.run_fixity",
        "vault.view_environment",
        "accession.manage_accession",
        "accession.submit_batch",
        "holdings.view_holdings",
        "holdings.change_holdings",
        "holdings.view_restricted",
        "holdings.manage_codes",
        "outreach.manage_visits",  # 参观接待
        "outreach.manage_exhibitions",  # 展览、专题栏目、征集公告
        "outreach.manage_compilation",  # 编研
        "outreach.manage_oral_history",  # 口述档案
        "utilization.handle_request",  # 利用申请: queue, transitions, approvals, certificates
        "opening.review",  # 开放鉴定: due list, batches, decisions, report
        "opening.approve_review",  # 审批, never of a batch the same person reviewed
        "portal.reveal_id_number",  # read a citizen's full ID number when needed (audited)
        "livelihood.search_persons",  # 民生档案人员查询 for walk-in citizens (audited)
        "livelihood.manage_cross_requests",  # 跨馆出证: 受理, 转发, 协办答复, 办结
        "jobs.view_job",
        "jobs.run_job",
        "statistics.view_statistics",  # 统计年报
    ],
    Role.KEEPER: [
        "vault.manage_vault",
        "vault.view_environment",
        "vault.handle_alarm",
        "holdings.view_holdings",
        "holdings.view_restricted",
        "jobs.view_job",
    ],
    Role.SUPERVISOR: [
        "holdings.view_holdings",
        "jobs.view_job",
        "supervision.manage_evaluation",  # 测评指标与评审
        "supervision.inspect",  # 执法检查、整改验收
        "supervision.manage_training",  # 培训与专业人员名册
        "statistics.view_statistics",  # 统计年报
    ],
    Role.UNIT_OFFICER: [
        # Scoped to the officer's own unit's fonds by holdings.services.visible_items.
        "accession.submit_batch",  # only for the officer's own unit (accession.services)
        "ingest.submit_sip",  # own unit's fonds only (ingest.services)
        "ingest.view_sip",
        "holdings.view_holdings",
        "holdings.view_restricted",
        "opening.record_opinion",  # 形成单位意见, only on batches holding own unit's records
        "supervision.respond",  # own unit's self-assessment and rectification responses only
    ],
    Role.PUBLIC: [],
}
