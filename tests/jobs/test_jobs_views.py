"""The job screens: list scoped by role, the detail page with htmx polling, cancel and retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from lantai.jobs import services
from lantai.jobs.models import Job, JobStatus


@pytest.fixture
def archivist(make_user):
    return make_user("archivist1", "archivist")


@pytest.fixture
def keeper(make_user):
    return make_user("keeper1", "keeper")


def test_list_needs_view_permission(db, client, make_user):
    nobody = make_user("citizen", "public")
    client.force_login(nobody)
    assert client.get(reverse("jobs:list")).status_code == 403
    client.logout()
    assert client.get(reverse("jobs:list")).status_code == 302  # to the login page


def test_archivist_sees_all_jobs_others_their_own(db, client, archivist, keeper):
    mine = Job.objects.create(kind="jobs.selftest", created_by=keeper, message="keeper job")
    other = Job.objects.create(kind="jobs.selftest", created_by=archivist, message="archivist job")
    client.force_login(keeper)
    html = client.get(reverse("jobs:list")).content.decode()
    assert str(mine.pk) in html and str(other.pk) not in html
    assert client.get(reverse("jobs:detail", args=[other.pk])).status_code == 404
    client.force_login(archivist)
    html = client.get(reverse("jobs:list")).content.decode()
    assert str(mine.pk) in html and str(other.pk) in html
    assert "任务队列自检" in html  # the kind's label, not its code
    html = client.get(reverse("jobs:list"), {"status": "failed"}).content.decode()
    assert str(mine.pk) not in html


def test_detail_polls_until_finished(db, client, archivist):
    job = Job.objects.create(
        kind="jobs.selftest",
        created_by=archivist,
        status=JobStatus.RUNNING,
        progress_done=3,
        progress_total=12,
        message="第 3/12 步",
        worker="other-host:99",
        attempts=1,
        heartbeat_at=timezone.now(),
    )
    client.force_login(archivist)
    html = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    progress_url = reverse("jobs:progress", args=[job.pk])
    assert f'hx-get="{progress_url}"' in html and "hx-trigger" in html
    assert '<progress max="12" value="3">' in html
    assert "第 3/12 步" in html and "取消任务" in html
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, progress_done=12, result={"steps": 12}
    )
    partial = client.get(progress_url).content.decode()
    assert "hx-trigger" not in partial  # finished: polling stops
    assert 'data-status="succeeded"' in partial and "&quot;steps&quot;: 12" in partial
    assert "取消任务" not in partial


def test_failed_job_shows_error_and_retry(transactional_db, client, archivist):
    job = services.enqueue("jobs.selftest", {"steps": 0, "fail": True}, user=archivist)
    client.force_login(archivist)
    html = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "执行失败" in html and "RuntimeError" in html and "重新执行" in html
    response = client.post(reverse("jobs:retry", args=[job.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("jobs:detail", args=[job.pk])
    job.refresh_from_db()
    assert job.attempts == 2 and job.status == JobStatus.FAILED  # it failed again, as asked


def test_cancel_from_the_page(db, client, archivist, keeper):
    job = services.enqueue("jobs.selftest", {"steps": 1}, user=archivist)  # stays queued
    client.force_login(keeper)
    assert client.post(reverse("jobs:cancel", args=[job.pk])).status_code == 404
    client.force_login(archivist)
    assert client.get(reverse("jobs:cancel", args=[job.pk])).status_code == 405
    response = client.post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    assert "任务已取消" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    response = client.post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    assert "任务已结束，无法取消" in response.content.decode()


def test_list_reaps_dead_jobs(db, client, archivist):
    job = Job.objects.create(
        kind="jobs.selftest",
        created_by=archivist,
        status=JobStatus.RUNNING,
        worker="gone-host:1",
        attempts=1,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    client.force_login(archivist)
    html = client.get(reverse("jobs:list")).content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "执行进程已中断" in html
