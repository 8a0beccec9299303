from django.conf import settings
from django.urls import include, path

urlpatterns = [
    path("", include("lantai.ops.urls")),
    path("", include("lantai.core.urls")),
    path("accounts/", include("lantai.accounts.urls")),
    path("holdings/", include("lantai.holdings.urls")),
    path("audit/", include("lantai.audit.urls")),
    path("jobs/", include("lantai.jobs.urls")),
    path("accession/", include("lantai.accession.urls")),
    path("vault/", include("lantai.vault.urls")),
    path("ingest/", include("lantai.ingest.urls")),
    path("preservation/", include("lantai.preservation.urls")),
    path("search/", include("lantai.search.urls")),
    path("digitisation/", include("lantai.digitisation.urls")),
    path("opening/", include("lantai.opening.urls")),
    path("portal/", include("lantai.portal.urls")),
    path("use/", include("lantai.utilization.urls")),
    path("livelihood/", include("lantai.livelihood.urls")),
    path("oai", include("lantai.oai.urls")),
    path("supervision/", include("lantai.supervision.urls")),
    path("outreach/", include("lantai.outreach.urls")),
    path("statistics/", include("lantai.statistics.urls")),
    path("portal/requests/", include("lantai.utilization.urls_public")),
    path("portal/livelihood/", include("lantai.livelihood.urls_public")),
    path("portal/outreach/", include("lantai.outreach.urls_public")),
    path("api/v1/", include("lantai.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

# A database that went away is a 503 with a clear message, not a bare 500 (lantai.ops).
handler500 = "lantai.ops.views.server_error"

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
