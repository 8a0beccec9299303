"""Electronic-signature verification (DA/T 70 1-2): real keys and certificates made with
``cryptography`` (a self-signed CA and leaves issued by it), PDFs signed with pyHanko, and
detached RSA/ECDSA signatures over the files; tampered, untrusted, expired and SM2 cases."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from lantai.ingest import checks, signatures
from lantai.ingest.sip import open_sip

from .conftest import make_bag, metadata_for, pdf_bytes

NOW = datetime.now(UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_ca(cn: str = "兰台测试根CA"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(ca, cn="兰台区人民政府办公室", *, kind="rsa", expired=False):
    ca_key, ca_cert = ca
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    start, end = (
        (NOW - timedelta(days=400), NOW - timedelta(days=35))
        if expired
        else (NOW - timedelta(days=1), NOW + timedelta(days=365))
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki():
    ca = make_ca()
    other_ca = make_ca("别处的根CA")
    return {
        "ca": ca,
        "other_ca": other_ca,
        "leaf": make_leaf(ca),
        "ec_leaf": make_leaf(ca, kind="ec"),
        "expired": make_leaf(ca, "过期证书", expired=True),
        "stranger": make_leaf(other_ca, "陌生单位"),
    }


@pytest.fixture
def trust_store(tmp_path, pki, settings):
    folder = tmp_path / "trust"
    folder.mkdir()
    (folder / "root.pem").write_bytes(pem(pki["ca"][1]))
    (folder / "readme.txt").write_text("not a certificate")
    settings.LANTAI_TRUST_STORE = str(folder)
    return folder


@pytest.fixture(autouse=True)
def _no_env_trust_store(monkeypatch, settings):
    monkeypatch.delenv("LANTAI_TRUST_STORE", raising=False)
    settings.LANTAI_TRUST_STORE = None


def sign_pdf(pdf: bytes, leaf, ca, tmp_path: Path) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    key, cert = leaf
    key_file, cert_file, ca_file = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "ca.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(pem(cert))
    ca_file.write_bytes(pem(ca[1]))
    signer = signers.SimpleSigner.load(str(key_file), str(cert_file), ca_chain_files=[str(ca_file)])
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)),
        signers.PdfSignatureMetadata(field_name="Signature1"),
        signer=signer,
    )
    return out.getvalue()


def tamper(signed: bytes) -> bytes:
    """One signed byte changed, length kept (the header comment lies inside the signed range)."""
    marker = b"ReportLab Generated PDF document"
    assert marker in signed
    return signed.replace(marker, b"ReportLab Generated PDF documenT", 1)


def append_update(signed: bytes) -> bytes:
    """An incremental update after signing that changes the document catalog."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(signed))
    writer.root["/LantaiTampered"] = generic.NameObject("/Yes")
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def detached(data: bytes, leaf, algorithm: str = "SHA256withRSA") -> dict:
    key, cert = leaf
    if isinstance(key, rsa.RSAPrivateKey):
        value = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        value = key.sign(data, ec.ECDSA(hashes.SHA256()))
    return {
        "signature": base64.b64encode(value).decode(),
        "certificate": pem(cert).decode(),
        "signature_algorithm": algorithm,
    }


class _File:
    def __init__(self, path: Path):
        self.path = path.name
        self.abspath = path


def verdict(tmp_path, name: str, data: bytes, component: dict | None = None):
    path = tmp_path / name
    path.write_bytes(data)
    by_path = {name: component} if component else {}
    return signatures.verify_package([_File(path)], by_path)


# --- PDF signatures ----------------------------------------------------------------------------


def test_signed_pdf_passes_with_the_trust_store(tmp_path, pki, trust_store):
    signed = sign_pdf(pdf_bytes(), pki["leaf"], pki["ca"], tmp_path)
    report = verdict(tmp_path, "signed.pdf", signed)
    assert report.result == signatures.PASS, report.outcomes
    assert report.outcomes[0].kind == "pdf" and "兰台区人民政府办公室" in report.outcomes[0].signer


def test_tampered_pdf_fails_as_bad_signature(tmp_path, pki, trust_store):
    signed = sign_pdf(pdf_bytes(), pki["leaf"], pki["ca"], tmp_path)
    tampered = tamper(signed)
    report = verdict(tmp_path, "tampered.pdf", tampered)
    assert report.result == signatures.FAIL
    assert report.outcomes[0].reason == signatures.BAD_SIGNATURE


def test_pdf_changed_after_signing_fails_as_modified(tmp_path, pki, trust_store):
    signed = sign_pdf(pdf_bytes(), pki["leaf"], pki["ca"], tmp_path)
    report = verdict(tmp_path, "updated.pdf", append_update(signed))
    assert report.result == signatures.FAIL
    assert report.outcomes[0].reason == signatures.MODIFIED


def test_pdf_signed_by_an_unknown_ca_is_untrusted(tmp_path, pki, trust_store):
    signed = sign_pdf(pdf_bytes(), pki["stranger"], pki["other_ca"], tmp_path)
    report = verdict(tmp_path, "stranger.pdf", signed)
    assert report.result == signatures.FAIL
    assert report.outcomes[0].reason == signatures.UNTRUSTED


def test_pdf_signed_with_an_expired_certificate(tmp_path, pki, trust_store):
    signed = sign_pdf(pdf_bytes(), pki["expired"], pki["ca"], tmp_path)
    report = verdict(tmp_path, "expired.pdf", signed)
    assert report.result == signatures.FAIL
    assert report.outcomes[0].reason == signatures.EXPIRED


def test_without_trust_store_signed_pdf_is_not_run_and_plain_is_not_applicable(tmp_path, pki):
    signed = sign_pdf(pdf_bytes(), pki["leaf"], pki["ca"], tmp_path)
    assert verdict(tmp_path, "signed.pdf", signed).result == signatures.NOT_RUN
    assert verdict(tmp_path, "plain.pdf", pdf_bytes()).result == signatures.NOT_APPLICABLE


def test_plain_pdf_with_trust_store_is_not_applicable(tmp_path, trust_store):
    assert verdict(tmp_path, "plain.pdf", pdf_bytes()).result == signatures.NOT_APPLICABLE


# --- detached signatures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "leaf, algorithm", [("leaf", "SHA256withRSA"), ("ec_leaf", "SHA256withECDSA")]
)
def test_detached_rsa_and_ecdsa(tmp_path, pki, trust_store, leaf, algorithm):
    data = b"<xml>\xe9\x80\x9a\xe7\x9f\xa5</xml>"
    component = detached(data, pki[leaf], algorithm)
    assert verdict(tmp_path, "a.xml", data, component).result == signatures.PASS
    report = verdict(tmp_path, "b.xml", data + b" ", component)
    assert report.result == signatures.FAIL
    assert report.outcomes[0].reason == signatures.BAD_SIGNATURE


def test_detached_untrusted_expired_and_malformed(tmp_path, pki, trust_store):
    data = b"record"
    stranger = verdict(tmp_path, "s.txt", data, detached(data, pki["stranger"]))
    assert stranger.outcomes[0].reason == signatures.UNTRUSTED
    expired = verdict(tmp_path, "e.txt", data, detached(data, pki["expired"]))
    assert expired.outcomes[0].reason == signatures.EXPIRED
    broken = verdict(tmp_path, "m.txt", data, {"signature": "not base64!!", "certificate": ""})
    assert broken.result == signatures.FAIL and broken.outcomes[0].reason == signatures.MALFORMED


def test_sm2_is_reported_not_supported(tmp_path, pki, trust_store):
    data = b"record"
    component = detached(data, pki["leaf"], "SM3withSM2")
    report = verdict(tmp_path, "sm2.txt", data, component)
    assert report.result == signatures.NOT_RUN
    assert report.outcomes[0].result == signatures.UNSUPPORTED and "SM2" in report.detail


def test_trust_store_without_roots_is_not_run(tmp_path, pki, settings):
    empty = tmp_path / "empty"
    empty.mkdir()
    settings.LANTAI_TRUST_STORE = str(empty)
    data = b"record"
    assert (
        verdict(tmp_path, "x.txt", data, detached(data, pki["leaf"])).result == signatures.NOT_RUN
    )


# --- through the four-property checks ---------------------------------------------------------


@pytest.fixture
def fonds(db):
    from lantai.holdings import refcode
    from lantai.holdings import services as holdings
    from lantai.holdings.models import Series

    refcode.clear_scheme_cache()
    unit = holdings.create_unit(None, {"code": "QZF", "name": "区政府办公室", "kind": "agency"})
    fonds = holdings.create_fonds(None, {"code": "Z109", "name": "区政府办公室", "unit": unit})
    Series.objects.create(fonds=fonds, code="BGS", name="办公室")
    return fonds


def _check_item(tmp_path, fonds, name, payload, component_extra=None):
    meta = metadata_for("Z109", files=[(n, len(c)) for n, c in payload.items()])
    if component_extra:
        meta["components"][0].update(component_extra)
    folder = make_bag(tmp_path / name, payload=payload, metadata=meta)
    package = open_sip(folder, tmp_path / f"w-{name}")
    report = checks.run_checks(package, stage="GD", unit=fonds.unit, fonds=fonds)
    return next(item for item in report["items"] if item["code"] == "1-2"), report


def test_checks_report_signature_verdicts(tmp_path, pki, trust_store, fonds):
    signed = sign_pdf(pdf_bytes(), pki["leaf"], pki["ca"], tmp_path)
    item, report = _check_item(tmp_path, fonds, "good", {"正文.pdf": signed})
    assert item["result"] == "pass" and "1 个电子签名有效" in item["detail"]
    assert report["passed"]
    tampered = tamper(signed)
    item, report = _check_item(tmp_path, fonds, "bad", {"正文.pdf": tampered})
    assert item["result"] == "fail" and not report["passed"]
    assert "正文.pdf" in item["detail"] and "不符" in item["detail"]
    data = pdf_bytes()
    item, _report = _check_item(
        tmp_path,
        fonds,
        "detached",
        {"正文.pdf": data},
        {
            **detached(data, pki["ec_leaf"], "SHA256withECDSA"),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    assert item["result"] == "pass", item


def test_checks_without_trust_store_say_not_run(tmp_path, pki, fonds):
    signed = sign_pdf(pdf_bytes(), pki["leaf"], pki["ca"], tmp_path)
    item, _report = _check_item(tmp_path, fonds, "nostore", {"正文.pdf": signed})
    assert item["result"] == "not_run" and "LANTAI_TRUST_STORE" in item["detail"]
