"""Certified copies 档案证明: the PDF carries the code and a QR code of the verification
address, verification confirms genuine codes and rejects forged ones, and with a configured
PKCS#12 key the PDF carries a valid PAdES signature."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pikepdf
import pytest
from django.core.exceptions import ValidationError
from pypdf import PdfReader

from lantai.storage import services as storage
from lantai.utilization import codes, services
from lantai.utilization.models import Certificate, Delivery

pytestmark = pytest.mark.django_db


def approved_request(world, who="citizen_a", item=None):
    archivist = world.users["archivist"]
    item = item or world.open_item
    req = services.submit_request(
        world.users[who],
        purpose="verify",
        delivery_wanted=Delivery.CERTIFICATE,
        reference_codes=[item.reference_code],
    )
    req = services.transition(archivist, req, "accept")
    return services.transition(archivist, req, "approve")


def issue(world, req, content="张三与李四于1998年5月20日登记结婚。"):
    return services.issue_certificate(
        world.users["archivist"], req.items.get(), content, base_url="https://archive.example.cn"
    )


def pdf_of(cert: Certificate) -> bytes:
    with storage.open_object(cert.object) as fh:
        return fh.read()


def qr_texts(pdf: bytes) -> list[str]:
    """Decode every QR code found in the PDF's images (OpenCV's detector)."""
    found = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            images = page.get_images() if hasattr(page, "get_images") else page.images
            for raw in images.values():
                image = pikepdf.PdfImage(raw).as_pil_image().convert("L")
                array = np.array(image)
                text, _points, _ = cv2.QRCodeDetector().detectAndDecode(array)
                if text:
                    found.append(text)
    return found


def test_codes_are_checked_and_normalised():
    code = codes.new_code()
    assert len(code) == 16 and codes.is_well_formed(code)
    shown = codes.display(code).lower()
    assert codes.normalise(f" {shown} ") == code
    wrong = code[:5] + ("0" if code[5] != "0" else "1") + code[6:]
    assert not codes.is_well_formed(wrong)
    assert len({codes.new_code() for _ in range(200)}) == 200


def test_certificate_pdf_has_code_text_and_qr(world):
    req = approved_request(world)
    cert, code = issue(world, req)
    pdf = pdf_of(cert)
    assert cert.sha256 == hashlib.sha256(pdf).hexdigest()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = text.replace(" ", "").replace("\n", "")
    assert codes.display(code) in flat
    assert world.open_item.reference_code in flat
    assert "张三" in flat and "档案证明" in flat
    url = services.verify_url(code, "https://archive.example.cn")
    assert url == f"https://archive.example.cn/portal/requests/verify/{code}/"
    assert qr_texts(pdf) == [url]
    # The code itself is never stored, only its hash.
    assert code not in str(Certificate.objects.filter(pk=cert.pk).values().get())


def test_certificate_rules(world):
    archivist = world.users["archivist"]
    req = services.submit_request(
        world.users["citizen_a"],
        purpose="verify",
        delivery_wanted=Delivery.CERTIFICATE,
        reference_codes=[world.open_item.reference_code],
    )
    with pytest.raises(ValidationError) as exc:
        issue(world, req)
    assert exc.value.message_dict["content"] == ["申请审核通过后才能出具档案证明。"]
    req = services.transition(archivist, req, "accept")
    req = services.transition(archivist, req, "approve")
    with pytest.raises(ValidationError) as exc:
        issue(world, req, content="  ")
    assert exc.value.message_dict["content"] == ["请填写证明内容。"]
    with pytest.raises(ValidationError) as exc:
        services.transition(archivist, req, "provide")
    assert exc.value.message_dict["action"] == ["请先出具档案证明，再提供。"]
    restricted = approved_request(world, item=world.restricted_item)
    with pytest.raises(ValidationError) as exc:
        issue(world, restricted)
    assert exc.value.message_dict["content"] == ["该档案未开放，须先特批才能出具证明。"]


def test_verification_genuine_forged_and_pdf_match(world):
    req = approved_request(world)
    cert, code = issue(world, req)
    assert services.find_certificate(code) == cert
    assert services.find_certificate(codes.display(code).lower()) == cert
    forged = codes.new_code()
    assert services.find_certificate(forged) is None
    assert services.find_certificate("not-a-code") is None
    assert services.pdf_matches(cert, pdf_of(cert))
    tampered = pdf_of(cert).replace(b"%%EOF", b"%%EOF\n% edited")
    assert not services.pdf_matches(cert, tampered)
    Certificate.objects.filter(pk=cert.pk).update(revoked=True)
    assert services.find_certificate(code) is None


def _make_p12(path, password: bytes) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "兰台区档案馆"),
            x509.NameAttribute(NameOID.COMMON_NAME, "兰台区档案馆 档案证明"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"lantai", key, cert, None, serialization.BestAvailableEncryption(password)
    )
    path.write_bytes(data)
    return cert


def test_signed_certificate_validates(world, settings, tmp_path):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    p12 = tmp_path / "signer.p12"
    issuer = _make_p12(p12, b"s3cret")
    settings.LANTAI_SIGNING_P12 = str(p12)
    settings.LANTAI_SIGNING_P12_PASSWORD = "s3cret"
    req = approved_request(world)
    cert, _code = issue(world, req)
    assert cert.signed
    pdf = pdf_of(cert)
    pem = tmp_path / "issuer.pem"
    from cryptography.hazmat.primitives import serialization

    pem.write_bytes(issuer.public_bytes(serialization.Encoding.PEM))
    trust = ValidationContext(trust_roots=[load_cert_from_pemder(str(pem))])
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    status = validate_pdf_signature(signature, trust)
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    # The signed file is what the verification page compares against.
    assert services.pdf_matches(cert, pdf)
    # A byte changed inside the signed range (here: the first comment line) breaks it.
    broken = bytearray(pdf)
    broken[pdf.index(b"\n") + 2] ^= 0x01
    reader = PdfFileReader(io.BytesIO(bytes(broken)), strict=False)
    status = validate_pdf_signature(reader.embedded_signatures[0], trust)
    assert not status.intact


def test_long_content_shrinks_above_the_issuer_block(world, settings):
    archive = settings.LANTAI_ARCHIVE_NAME
    req = approved_request(world)
    cert, _code = issue(world, req, content="经查，陈晓明与林慧于1998年5月20日登记结婚。" * 80)
    reader = PdfReader(io.BytesIO(pdf_of(cert)))
    assert len(reader.pages) == 1
    heights: dict[str, float] = {}

    def visit(text, cm, tm, _font, _size):
        for marker in ("经核对", archive, "验证码"):
            if text.strip().startswith(marker):
                heights.setdefault(marker, cm[5] + tm[5])

    reader.pages[0].extract_text(visitor_text=visit)
    assert heights["经核对"] > heights[archive] > heights["验证码"]
