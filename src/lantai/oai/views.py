"""The OAI-PMH endpoint 目录发布接口 at /oai (GET and POST, no login: the open catalog only)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from lantai.oai import services as oai
from lantai.oai.services import OaiError


def _arguments(request: HttpRequest) -> dict[str, list[str]]:
    data = request.POST if request.method == "POST" else request.GET
    return {key: data.getlist(key) for key in data}


@csrf_exempt  # harvesters POST form-encoded requests without a session (protocol §3.1.1.2)
@require_http_methods(["GET", "HEAD", "POST"])
def endpoint(request: HttpRequest) -> HttpResponse:
    base_url = request.build_absolute_uri(request.path)
    raw = _arguments(request)
    verbs = raw.pop("verb", [])
    root = None
    try:
        if len(verbs) != 1 or verbs[0] not in oai.VERBS:
            raise OaiError("badVerb", "Illegal or missing verb")
        verb = verbs[0]
        args = oai.check_arguments(verb, raw)
        root = oai.envelope(base_url, {"verb": verb, **args})
        _answer(root, verb, args, base_url)
    except OaiError as error:
        if root is None or error.code in ("badVerb", "badArgument"):
            # The request element of a badVerb/badArgument answer carries no attributes.
            root = oai.envelope(base_url, None)
        else:
            for child in list(root)[2:]:
                root.remove(child)
        oai.add_error(root, error)
    return HttpResponse(oai.render(root), content_type="text/xml; charset=utf-8")


def _answer(root, verb: str, args: dict[str, str], base_url: str) -> None:
    if verb == "Identify":
        body = oai._sub(root, "Identify")
        oai._sub(body, "repositoryName", settings.LANTAI_ARCHIVE_NAME)
        oai._sub(body, "baseURL", base_url)
        oai._sub(body, "protocolVersion", "2.0")
        admin = getattr(settings, "LANTAI_OAI_ADMIN_EMAIL", "") or settings.DEFAULT_FROM_EMAIL
        oai._sub(body, "adminEmail", admin)
        oai._sub(body, "earliestDatestamp", oai.stamp(oai.earliest_datestamp()))
        oai._sub(body, "deletedRecord", oai.deleted_policy())
        oai._sub(body, "granularity", "YYYY-MM-DDThh:mm:ssZ")
        return
    if verb == "ListMetadataFormats":
        if "identifier" in args:
            oai.get_entry(args["identifier"])  # idDoesNotExist when unknown or not open
        body = oai._sub(root, "ListMetadataFormats")
        for prefix, (schema, namespace) in oai.FORMATS.items():
            fmt = oai._sub(body, "metadataFormat")
            oai._sub(fmt, "metadataPrefix", prefix)
            oai._sub(fmt, "schema", schema)
            oai._sub(fmt, "metadataNamespace", namespace)
        return
    if verb == "ListSets":
        if "resumptionToken" in args:
            # Sets come in one response; no token was ever handed out for them.
            raise OaiError("badResumptionToken", "ListSets is not paged")
        body = oai._sub(root, "ListSets")
        for spec, name in oai.list_sets():
            entry = oai._sub(body, "set")
            oai._sub(entry, "setSpec", spec)
            oai._sub(entry, "setName", name)
        return
    if verb == "GetRecord":
        oai.check_prefix(args["metadataPrefix"])
        entry = oai.get_entry(args["identifier"])
        oai.add_record(oai._sub(root, "GetRecord"), entry, base_url)
        return
    # ListIdentifiers / ListRecords
    query = oai.query_from_args(args)
    entries, following, answered = oai.list_page(query)
    body = oai._sub(root, verb)
    for entry in entries:
        if verb == "ListIdentifiers":
            oai.add_header(body, entry)
        else:
            oai.add_record(body, entry, base_url)
    oai.add_token(body, following, answered)
