"""Lantai in English: the catalog is complete, and the screens and services speak English when
the user picks it (cookie, Accept-Language or the set_language view).

The UI is Chinese-first: every msgid is Chinese and English comes from
``locale/en/LC_MESSAGES/django.po``. Besides a few named strings per page, each page is checked
as a whole: once the values that are archive *data* (titles, unit and fonds names, category
names, the archive's own name) are taken out, no Chinese may be left in its visible text.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from lantai.accounts.roles import Role
from lantai.audit import services as audit
from lantai.audit.models import AuditAction
from lantai.holdings import services as holdings
from lantai.holdings.models import Category, Fonds, FondsName, Item, Series, Unit, Volume

PACKAGE_DIR = Path(settings.LOCALE_PATHS[0]).parent
PO_PATH = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES" / "django.po"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# The language switcher names each language in itself; that is the point of it.
NATIVE_NAMES = {"简体中文"}


# -- the .po file, read with a small parser of our own (no polib in the project) -------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def read_po(path: Path) -> list[Entry]:
    """Entries of a gettext .po file (header included, as the entry with msgid "")."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int | None] | None = None
    started = False

    def finish() -> None:
        nonlocal entry, started, target
        if started:
            entries.append(entry)
        entry, started, target = Entry(), False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#~"):
            # Obsolete entries: msgfmt ignores them, and so do we (but remember they exist).
            if started and not entry.obsolete:
                finish()
            entry.obsolete = True
            continue
        if not line:
            finish()
            continue
        if line.startswith("#,"):
            if started:
                finish()
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            if started:
                finish()
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        if keyword:
            # msgctxt opens an entry, and so does msgid unless a msgctxt just opened it.
            opens = keyword == "msgctxt" or (
                keyword == "msgid" and not (target and target[0] == "msgctxt")
            )
            if opens and started:
                finish()
            started = True
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match:
                target = ("msgstr", int(match.group(1)))
                entry.msgstr[target[1]] = ""
            elif keyword == "msgstr":
                target = ("msgstr", 0)
                entry.msgstr[0] = ""
            elif keyword in ("msgid", "msgid_plural", "msgctxt"):
                target = (keyword, None)
                setattr(entry, keyword, "")
            else:
                raise AssertionError(f"unexpected line in {path}: {raw!r}")
        text = ast.literal_eval(rest)
        assert target is not None, f"string outside an entry in {path}: {raw!r}"
        name, index = target
        if name == "msgstr":
            entry.msgstr[index] += text
        else:
            setattr(entry, name, getattr(entry, name) + text)
    finish()
    return [e for e in entries if not e.obsolete]


PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%%|%[sd]")


def placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text))


def catalog() -> dict[str, Entry]:
    return {e.msgid: e for e in read_po(PO_PATH) if e.msgid}


SAMPLE_PO = r"""# header comment
msgid ""
msgstr ""
"Language: en\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

#: a.py:1
msgid "档号"
msgstr "Reference code"

#: a.py:2
#, fuzzy, python-format
#| msgid "旧的 %(n)d"
msgid "第%(n)d行"
msgstr "Column %(n)d"

msgctxt "按钮"
msgid "保存"
msgstr ""

#, python-format
msgid "本页 %(n)s 条"
msgid_plural "本页 %(n)s 条"
msgstr[0] "%(n)s row"
msgstr[1] ""
"%(n)s rows"

#~ msgid "已删除的"
#~ msgstr "Gone"
"""


def test_the_po_reader_sees_flags_contexts_plurals_and_continuations(tmp_path):
    path = tmp_path / "sample.po"
    path.write_text(SAMPLE_PO, encoding="utf-8")
    entries = {e.msgid: e for e in read_po(path)}
    assert set(entries) == {"", "档号", "第%(n)d行", "保存", "本页 %(n)s 条"}
    assert "Plural-Forms" in entries[""].msgstr[0]
    assert entries["档号"].msgstr == {0: "Reference code"} and not entries["档号"].flags
    assert entries["第%(n)d行"].flags == {"fuzzy", "python-format"}
    assert entries["保存"].msgctxt == "按钮" and entries["保存"].msgstr == {0: ""}
    plural = entries["本页 %(n)s 条"]
    assert plural.msgid_plural == "本页 %(n)s 条"
    assert plural.msgstr == {0: "%(n)s row", 1: "%(n)s rows"}


def test_catalog_has_no_untranslated_or_fuzzy_entries():
    entries = read_po(PO_PATH)
    header = next(e for e in entries if e.msgid == "")
    assert "fuzzy" not in header.flags, "a fuzzy header makes msgfmt drop the plural rule"
    assert "Language: en" in header.msgstr[0]
    messages = [e for e in entries if e.msgid]
    assert len(messages) > 1000  # the parser really read the catalog

    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    assert not fuzzy, f"fuzzy entries (check them and drop the flag): {fuzzy[:10]}"
    untranslated = [e.msgid for e in messages if not all(e.msgstr.values()) or not e.msgstr]
    assert not untranslated, f"untranslated entries: {untranslated[:10]}"
    plural_gaps = [e.msgid for e in messages if e.msgid_plural and sorted(e.msgstr) != [0, 1]]
    assert not plural_gaps, f"plural entries need msgstr[0] and msgstr[1]: {plural_gaps}"


def test_translations_keep_every_placeholder_and_drop_the_chinese():
    problems = []
    for entry in catalog().values():
        if entry.msgid_plural:
            # Either plural form may drop the number (e.g. "one item"), never invent one.
            allowed = set(placeholders(entry.msgid) + placeholders(entry.msgid_plural))
            for text in entry.msgstr.values():
                if not set(placeholders(text)) <= allowed:
                    problems.append((entry.msgid, text))
            translated = entry.msgstr.values()
        else:
            if placeholders(entry.msgid) != placeholders(entry.msgstr[0]):
                problems.append((entry.msgid, entry.msgstr[0]))
            translated = [entry.msgstr[0]]
        for text in translated:
            # A few msgids quote Chinese on purpose (column headers users type, an example code).
            leftover = CJK.sub("", text) != text and entry.msgid not in NATIVE_NAMES
            if leftover and not _quotes_chinese_on_purpose(entry.msgid, text):
                problems.append((entry.msgid, text))
    assert not problems, problems[:10]


def _quotes_chinese_on_purpose(msgid: str, text: str) -> bool:
    """Chinese in a translation is fine only where it repeats Chinese the user must type."""
    chinese = set(re.findall(r"[\u3400-\u9fff]+", text))
    return (
        bool(chinese)
        and all(word in msgid for word in chinese)
        and len(chinese) <= 8  # e.g. the seven column headers of an import template
        and (len("".join(chinese)) * 3 < len(text))
    )


GETTEXT_NAMES = {"_", "N_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}


def _gettext_calls(source: str) -> list[str]:
    """First arguments of gettext calls written as string literals (docstrings don't count)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        first = node.args[0]
        literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
        if name in GETTEXT_NAMES and literal:
            found.append(first.value)
    return found


def _source_msgids() -> dict[str, str]:
    """Chinese msgids written as plain literals in the code and templates → where they are."""
    found: dict[str, str] = {}
    skip = ("migrations", "locale", "vendor", "static")
    tag = re.compile(r"""\{%\s*(?:translate|trans)\s+(?:"([^"]*)"|'([^']*)')[^%]*%\}""")
    block = re.compile(
        r"\{%\s*blocktrans(?:late)?\b([^%]*)%\}(.*?)\{%\s*endblocktrans(?:late)?\s*%\}", re.S
    )
    for path in PACKAGE_DIR.rglob("*"):
        if path.suffix not in (".py", ".html", ".txt") or any(p in path.parts for p in skip):
            continue
        where = str(path.relative_to(PACKAGE_DIR))
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            for msgid in _gettext_calls(text):
                found.setdefault(msgid, where)
            continue
        for pair in tag.findall(text):
            found.setdefault((pair[0] or pair[1]).replace("%", "%%"), where)
        for options, body in block.findall(text):
            if "{% plural" in body or "{%plural" in body:
                body = re.split(r"\{%\s*plural\s*%\}", body)[0]
            if "trimmed" in options:
                body = " ".join(line.strip() for line in body.strip().splitlines() if line.strip())
            msgid = body.replace("%", "%%")
            msgid = re.sub(r"\{\{\s*(\w+)\s*\}\}", r"%(\1)s", msgid)
            found.setdefault(msgid, where)
    return {msgid: where for msgid, where in found.items() if CJK.search(msgid)}


def test_every_chinese_string_in_the_source_has_an_english_translation():
    """Fails when a new string lands without a translation: run, in src/lantai,
    `lantai makemessages -l en --ignore "*/migrations/*" --no-obsolete`, translate, commit."""
    known = catalog()
    source = _source_msgids()
    assert len(source) > 500  # the scanner really read the code and the templates
    missing = {m: w for m, w in source.items() if m not in known or not known[m].msgstr.get(0)}
    assert not missing, f"msgids without an English translation: {list(missing.items())[:10]}"


def test_templates_have_no_chinese_outside_translation_tags():
    """Chinese text in a template must be a msgid: {% translate %}, {% blocktranslate %} or
    _("…") in a filter argument (e.g. ``|default:_("系统")``). Comments may say anything."""
    strip = [
        re.compile(r"\{#.*?#\}", re.S),
        re.compile(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", re.S),
        re.compile(r"\{%\s*blocktrans(?:late)?\b.*?\{%\s*endblocktrans(?:late)?\s*%\}", re.S),
        re.compile(r"""\{%\s*trans(?:late)?\s+(?:"[^"]*"|'[^']*')[^%]*%\}"""),
        re.compile(r"""_\(\s*(?:"[^"]*"|'[^']*')\s*\)"""),
    ]
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in strip:
            text = pattern.sub("", text)
        found += [
            f"{path.relative_to(PACKAGE_DIR)}: {line.strip()[:120]}"
            for line in text.splitlines()
            if CJK.search(line)
        ]
    assert not found, "Chinese outside translation tags:\n" + "\n".join(found)


def test_scripts_have_no_chinese_outside_comments():
    """Scripts get their words from the page (data attributes, json_script), already
    translated; Chinese in a script's code would show untranslated."""
    comments = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.js")):
        if "vendor" in path.parts:
            continue
        code = comments.sub("", path.read_text(encoding="utf-8"))
        found += [
            f"{path.relative_to(PACKAGE_DIR)}: {line.strip()[:120]}"
            for line in code.splitlines()
            if CJK.search(line)
        ]
    assert not found, "Chinese in script code:\n" + "\n".join(found)


# -- pages ----------------------------------------------------------------------------------


class _Text(HTMLParser):
    """Visible text of a page: text nodes and the attributes people read (not scripts)."""

    ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in self.ATTRIBUTES and value:
                self.parts.append(value)
            button = tag == "button" or (tag == "input" and ("type", "submit") in attrs)
            if button and name == "value" and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def _archive_data() -> list[str]:
    """Strings that are data, not interface: they stay as the archive wrote them."""
    values: set[str] = {settings.LANTAI_ARCHIVE_NAME, *NATIVE_NAMES}
    values |= set(Unit.objects.values_list("name", flat=True))
    values |= set(Fonds.objects.values_list("name", flat=True))
    values |= set(FondsName.objects.values_list("name", flat=True))
    values |= set(FondsName.objects.values_list("note", flat=True))
    values |= set(Category.objects.values_list("name", flat=True))
    values |= set(Series.objects.values_list("name", flat=True))
    values |= set(Item.objects.values_list("title", flat=True))
    values |= set(Volume.objects.values_list("title", flat=True))
    from lantai.audit.models import AuditEntry

    values |= set(AuditEntry.objects.values_list("object_repr", flat=True))
    # Longest first, so a title is removed whole before a name inside it.
    return sorted((v for v in values if v), key=len, reverse=True)


def assert_english(html: str, *, present: list[str], absent: list[str]) -> None:
    assert '<html lang="en">' in html
    for text in present:
        assert text in html, f"missing English text {text!r}"
    for text in absent:
        assert text not in html, f"Chinese interface text {text!r} is still on the page"
    parser = _Text()
    parser.feed(html)
    data = _archive_data()
    leftovers = []
    for part in parser.parts:
        for value in data:
            part = part.replace(value, "")
        if CJK.search(part):
            leftovers.append(part)
    assert not leftovers, f"untranslated text on the page: {leftovers[:10]}"


@pytest.mark.django_db
def test_login_page_in_english_from_accept_language():
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("accounts:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert_english(
        html,
        present=[
            "Sign in",
            "failed attempts in a row",
            "contact the system administrator",
            'aria-label="Language"',
        ],
        absent=["登录", "连续", "忘记密码", "用户名"],
    )
    assert response.headers["Content-Language"] == "en"


@pytest.mark.django_db
def test_login_error_in_english(world):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        reverse("accounts:login"), {"username": "archivist", "password": "wrong password"}
    )
    assert response.status_code == 200
    assert "Incorrect username or password" in response.content.decode()
    assert "用户名或密码不正确" not in response.content.decode()


@pytest.mark.django_db
def test_login_page_stays_chinese_by_default():
    html = Client().get(reverse("accounts:login")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html
    assert "Sign in" not in html


def test_dashboard_in_english_from_the_language_cookie(world):
    client = world.client(Role.ARCHIVIST)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 200
    assert_english(
        response.content.decode(),
        present=[
            "Dashboard",
            "Total holdings, volumes (items)",
            "Items in volumes",
            "By category, volumes (items)",
            "Browse holdings",
            "My recent changes",
            "Sign out",
        ],
        absent=["工作台", "馆藏总量", "卷内文件（件）", "浏览馆藏", "我最近的修改", "退出"],
    )


def test_item_list_in_english_after_set_language(world):
    client = world.client(Role.ARCHIVIST)
    response = client.post(
        reverse("set_language"),
        {"language": "en", "next": reverse("holdings:item_list")},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("holdings:item_list")
    html = response.content.decode()
    assert_english(
        html,
        present=["Reference code", "Title", "Retention", "Permanent", "Filter", "Clear", "Items"],
        absent=["档号", "题名", "保管期限", "永久", "筛选", "清除", "著录新条目"],
    )
    # The choice sticks for the next page too, without sending the language again.
    again = client.get(reverse("holdings:item_list") + "?title=通知").content.decode()
    assert "Reference code" in again and "档号</th>" not in again


def test_item_list_filter_errors_in_english(world):
    client = world.client(Role.ARCHIVIST)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = reverse("holdings:item_list") + "?date_from=2012-05-01&date_to=2011-01-01"
    html = client.get(url).content.decode()
    assert "The filter has errors" in html
    assert "筛选条件有误" not in html


def test_audit_list_in_english_from_accept_language(world):
    audit.record(
        AuditAction.UPDATE,
        actor=world.users[Role.ARCHIVIST],
        object_type="holdings.item",
        object_id=str(world.items_a[0].pk),
        object_repr=world.items_a[0].title,
    )
    client = world.client(Role.AUDITOR)
    # This test's entry only: transactional tests on the same worker leave theirs (the table
    # refuses DELETE), and their stored text (e.g. the public's actor name) is data in Chinese.
    response = client.get(
        reverse("audit:list"),
        {"object_type": "holdings.item", "object_id": str(world.items_a[0].pk)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert_english(
        response.content.decode(),
        present=["Audit log", "Export CSV", "Object type", "IP address", "Sign-in failed", "Edit"],
        absent=["审计日志", "导出 CSV", "对象类型", "登录失败", "修改"],
    )


def test_api_validation_errors_in_english(world):
    client = world.client(Role.ARCHIVIST)
    response = client.get("/api/v1/items", {"year": "abc"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "The request parameters are not valid."
    assert body["errors"]["year"] == ["Must be a whole number."]
    chinese = client.get("/api/v1/items", {"year": "abc"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.json()["errors"]["year"] == ["应为整数。"]


def test_audit_csv_header_in_english(world):
    client = world.client(Role.AUDITOR)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("audit:export"))
    assert response.status_code == 200
    header = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff").splitlines()[0]
    assert header.split(",")[:3] == ["Sequence", "Time", "Username"]
    assert not CJK.search(header)


# -- services -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_service_validation_errors_in_english():
    with translation.override("en"), pytest.raises(ValidationError) as english:
        holdings.validate_item({"title": "", "year": 1700})
    errors = english.value.message_dict
    assert errors["title"] == ["Title is required"]
    assert errors["fonds"] == ["Fonds is required"]
    assert any("Year" in message for message in errors["year"])
    assert not any(CJK.search(m) for messages in errors.values() for m in messages), errors

    # The same call in the default language is Chinese: the English came from the catalog.
    with translation.override("zh-hans"), pytest.raises(ValidationError) as chinese:
        holdings.validate_item({"title": ""})
    assert chinese.value.message_dict["title"] == ["题名不能为空"]


def test_plural_forms_in_english():
    with translation.override("en"):
        assert translation.ngettext("%(n)s 次", "%(n)s 次", 1) % {"n": 1} == "1 time"
        assert translation.ngettext("%(n)s 次", "%(n)s 次", 3) % {"n": 3} == "3 times"
