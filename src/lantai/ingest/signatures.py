"""Electronic-signature verification 电子签名验证 for SIPs (DA/T 70 1-2, 固化信息有效性).

Two kinds of signature are verified against the archive's trust store 信任证书库:

- signatures embedded in PDF documents, by pyHanko's validator (integrity of the signed byte
  ranges, the signer's chain to a trusted root, and whether the file was changed after
  signing);
- detached signatures given in the metadata for a component (DA/T 46 电子签名: ``signature``
  = 签名结果 in base64, ``certificate`` = 证书 in PEM or base64 DER, ``signature_algorithm``
  = 签名算法标识 such as ``SHA256withRSA``, ``SHA256withECDSA``, ``SM3withSM2``), verified
  over the file's bytes with ``cryptography``. SM2 is not offered by ``cryptography``, and
  we do not hand-roll it: such signatures are reported as not supported.

The trust store is a directory of CA certificates (PEM or DER, one or several per file) named
by the Django setting or environment variable ``LANTAI_TRUST_STORE``. Without it, nothing can
be verified and the outcome is "not run". Verdicts: pass / fail (bad signature, untrusted
chain, expired certificate, modified after signing) / not applicable (no signature) / not
run (no trust store).
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.utils.translation import gettext as _

PASS, FAIL, NOT_APPLICABLE, NOT_RUN, UNSUPPORTED = (
    "pass",
    "fail",
    "not_applicable",
    "not_run",
    "unsupported",
)
# Reasons a signature fails (stable codes; the detail text says it in words).
BAD_SIGNATURE = "bad_signature"
UNTRUSTED = "untrusted_chain"
EXPIRED = "expired_certificate"
MODIFIED = "modified_after_signing"
MALFORMED = "malformed"

_HASHES = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
    "SHA1": hashes.SHA1,
}
_PDF_SUFFIXES = (".pdf",)
#: Intermediate certificates followed from a leaf to a trusted root, at most.
MAX_CHAIN = 5


@dataclass
class Outcome:
    """One signature's verdict."""

    target: str
    kind: str  # "pdf" or "detached"
    result: str
    reason: str = ""
    detail: str = ""
    signer: str = ""


@dataclass
class Report:
    """Every signature of a package and the overall verdict."""

    result: str
    outcomes: list[Outcome] = field(default_factory=list)
    detail: str = ""

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result == FAIL]


# --- the trust store -----------------------------------------------------------------------------


def trust_store_path() -> Path | None:
    """The configured trust-store directory, or None when none is configured."""
    value = getattr(settings, "LANTAI_TRUST_STORE", None) or os.environ.get("LANTAI_TRUST_STORE")
    return Path(value) if value else None


def _read_certificates(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def load_trust_roots(path: Path | None = None) -> list[x509.Certificate]:
    """CA certificates of the trust store (every readable .pem/.crt/.cer/.der file)."""
    path = path or trust_store_path()
    if path is None or not path.is_dir():
        return []
    roots: list[x509.Certificate] = []
    for file in sorted(path.iterdir()):
        if file.suffix.lower() not in (".pem", ".crt", ".cer", ".der") or not file.is_file():
            continue
        try:
            roots.extend(_read_certificates(file.read_bytes()))
        except (ValueError, OSError):
            continue  # an unreadable file is no root; the others still count
    return roots


# --- detached signatures -------------------------------------------------------------------------


def _decode(text: str) -> bytes:
    return base64.b64decode("".join(text.split()), validate=True)


def _certificate_of(value: Any) -> x509.Certificate:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("no certificate")
    if "-----BEGIN" in value:
        return x509.load_pem_x509_certificate(value.encode("ascii"))
    return x509.load_der_x509_certificate(_decode(value))


def _now() -> datetime:
    return datetime.now(UTC)


def _expired(cert: x509.Certificate, at: datetime) -> bool:
    return not (cert.not_valid_before_utc <= at <= cert.not_valid_after_utc)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def chain_verdict(
    cert: x509.Certificate,
    roots: list[x509.Certificate],
    intermediates: list[x509.Certificate] = (),
    at: datetime | None = None,
) -> tuple[str, str]:
    """('', '') when ``cert`` chains to a trusted root and every certificate on the way is
    within its validity period at ``at``; else (reason code, words)."""
    at = at or _now()
    current = cert
    for _step in range(MAX_CHAIN + 1):
        if _expired(current, at):
            return EXPIRED, _("证书已过期或尚未生效：%(s)s（有效期 %(a)s 至 %(b)s）") % {
                "s": current.subject.rfc4514_string(),
                "a": current.not_valid_before_utc.date().isoformat(),
                "b": current.not_valid_after_utc.date().isoformat(),
            }
        if any(current == root for root in roots):
            return "", ""
        root = next((r for r in roots if _issued_by(current, r)), None)
        if root is not None:
            if _expired(root, at):
                return EXPIRED, _("根证书已过期：%(s)s") % {"s": root.subject.rfc4514_string()}
            return "", ""
        parent = next((c for c in intermediates if _issued_by(current, c)), None)
        if parent is None:
            break
        current = parent
    return UNTRUSTED, _("证书不能链接到本馆信任的根证书：%(s)s") % {
        "s": cert.subject.rfc4514_string()
    }


def _algorithm(name: Any, key) -> tuple[str, type[hashes.HashAlgorithm] | None]:
    """('rsa'|'ecdsa'|'sm2'|'', hash class) from a 签名算法标识 like SHA256withRSA."""
    text = str(name or "").upper().replace("-", "").replace("_", "")
    if "SM2" in text or "SM3" in text:
        return "sm2", None
    digest = next((cls for label, cls in _HASHES.items() if text.startswith(label)), None)
    if not text:
        digest = hashes.SHA256  # 签名算法标识 absent: SHA-256 with the key's own scheme
    if isinstance(key, rsa.RSAPublicKey) and (not text or "RSA" in text):
        return "rsa", digest
    if isinstance(key, ec.EllipticCurvePublicKey) and (not text or "ECDSA" in text):
        return "ecdsa", digest
    return "", digest


def verify_detached(
    path: Path, component: dict[str, Any], roots: list[x509.Certificate], target: str
) -> Outcome:
    """Verify one component's detached signature over the file at ``path``."""
    outcome = Outcome(target=target, kind="detached", result=FAIL)
    try:
        signature = _decode(str(component.get("signature") or ""))
    except (binascii.Error, ValueError):
        outcome.reason, outcome.detail = MALFORMED, _("签名值不是有效的 Base64")
        return outcome
    try:
        cert = _certificate_of(component.get("certificate"))
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        outcome.reason, outcome.detail = MALFORMED, _("缺少签名证书或证书无法读取")
        return outcome
    outcome.signer = cert.subject.rfc4514_string()
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        key = None
    scheme, digest = _algorithm(component.get("signature_algorithm"), key)
    if scheme == "sm2" or key is None:
        outcome.result, outcome.reason = UNSUPPORTED, "sm2"
        outcome.detail = _("SM2/SM3 签名暂不支持核验（所用密码库不提供 SM2）")
        return outcome
    if not scheme or digest is None:
        outcome.result, outcome.reason = UNSUPPORTED, "algorithm"
        outcome.detail = _("不支持的签名算法：%(a)s") % {
            "a": str(component.get("signature_algorithm") or "")[:40]
        }
        return outcome
    data = path.read_bytes()
    try:
        if scheme == "rsa":
            key.verify(signature, data, padding.PKCS1v15(), digest())
        else:
            key.verify(signature, data, ec.ECDSA(digest()))
    except InvalidSignature:
        outcome.reason, outcome.detail = BAD_SIGNATURE, _("签名值与文件内容不符")
        return outcome
    reason, words = chain_verdict(cert, roots)
    if reason:
        outcome.reason, outcome.detail = reason, words
        return outcome
    outcome.result, outcome.detail = PASS, _("签名有效")
    return outcome


# --- PDF signatures ------------------------------------------------------------------------------


def _pdf_signatures(path: Path):
    from pyhanko.pdf_utils.reader import PdfFileReader

    handle = path.open("rb")
    try:
        reader = PdfFileReader(handle, strict=False)
        return handle, list(reader.embedded_signatures)
    except Exception:
        handle.close()
        raise


def verify_pdf(path: Path, roots: list[x509.Certificate], target: str) -> list[Outcome]:
    """Every signature embedded in the PDF at ``path``; [] when it carries none."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        handle, signatures = _pdf_signatures(path)
    except Exception:  # not our job to judge a PDF that does not parse (3-2 is)
        return []
    outcomes: list[Outcome] = []
    try:
        if not signatures:
            return []
        trust = [asn1_x509.Certificate.load(root.public_bytes(Encoding.DER)) for root in roots]
        for index, embedded in enumerate(signatures, 1):
            label = f"{target}#{embedded.field_name or index}"
            outcome = Outcome(target=label, kind="pdf", result=FAIL)
            context = ValidationContext(trust_roots=trust, allow_fetching=False)
            try:
                status = validate_pdf_signature(embedded, context, skip_diff=False)
            except Exception as exc:  # a broken signature is a failed one
                outcome.reason = MALFORMED
                outcome.detail = _("签名无法解析：%(e)s") % {"e": str(exc)[:120]}
                outcomes.append(outcome)
                continue
            cert = status.signing_cert
            signer = x509.load_der_x509_certificate(cert.dump()) if cert is not None else None
            outcome.signer = signer.subject.rfc4514_string() if signer is not None else ""
            if not status.intact or not status.valid:
                outcome.reason = BAD_SIGNATURE
                outcome.detail = _("签名值与签名范围内的内容不符（文件被改动或签名损坏）")
            elif not _covers_document(status):
                outcome.reason = MODIFIED
                outcome.detail = _("签名后文件被修改（签名未覆盖文件的全部内容）")
            elif not status.trusted:
                reason, words = chain_verdict(signer, roots) if signer is not None else ("", "")
                outcome.reason = reason or UNTRUSTED
                outcome.detail = words or _("签名证书不能链接到本馆信任的根证书")
            else:
                outcome.result, outcome.detail = PASS, _("签名有效")
            outcomes.append(outcome)
    finally:
        handle.close()
    return outcomes


def _covers_document(status) -> bool:
    """Whether nothing but harmless changes followed the signature (pyHanko's diff analysis:
    the whole file signed, or later revisions only adding what the signer allowed)."""
    from pyhanko.sign.diff_analysis.policy_api import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    level = getattr(status, "modification_level", None)
    return status.coverage == SignatureCoverageLevel.ENTIRE_REVISION and level in (
        ModificationLevel.NONE,
        ModificationLevel.LTA_UPDATES,
    )


# --- the package ---------------------------------------------------------------------------------


def _is_pdf(path: Path, outcome: dict[str, Any] | None) -> bool:
    mime = (outcome or {}).get("mime") or ""
    return mime == "application/pdf" or path.suffix.lower() in _PDF_SUFFIXES


def verify_package(
    files, by_path: dict[str, dict[str, Any]], results: dict[str, dict[str, Any]] | None = None
) -> Report:
    """Verify every signature of a SIP's ``files`` (SipFile: path, abspath) — embedded in PDFs
    and detached in the metadata components ``by_path``."""
    results = results or {}
    detached = [f for f in files if (by_path.get(f.path) or {}).get("signature")]
    pdfs = [f for f in files if _is_pdf(f.abspath, results.get(f.path))]
    roots_path = trust_store_path()
    if roots_path is None:
        if detached or any(_has_pdf_signature(f.abspath) for f in pdfs):
            return Report(NOT_RUN, detail=_("本馆未配置验签证书（LANTAI_TRUST_STORE），签名未核验"))
        return Report(NOT_APPLICABLE, detail=_("信息包中没有电子签名"))
    roots = load_trust_roots(roots_path)
    outcomes: list[Outcome] = []
    for file in pdfs:
        outcomes.extend(verify_pdf(file.abspath, roots, file.path))
    for file in detached:
        outcomes.append(verify_detached(file.abspath, by_path[file.path], roots, file.path))
    if not outcomes:
        return Report(NOT_APPLICABLE, detail=_("信息包中没有电子签名"))
    if not roots:
        return Report(
            NOT_RUN,
            outcomes,
            _("信任证书库 %(p)s 中没有可用的根证书，签名未核验") % {"p": roots_path},
        )
    failed = [o for o in outcomes if o.result == FAIL]
    passed = [o for o in outcomes if o.result == PASS]
    unsupported = [o for o in outcomes if o.result == UNSUPPORTED]
    if failed:
        return Report(FAIL, outcomes)
    if not passed and unsupported:
        return Report(NOT_RUN, outcomes, unsupported[0].detail)
    detail = _("%(n)d 个电子签名有效") % {"n": len(passed)}
    if unsupported:
        detail += _("；%(n)d 个签名暂不支持核验") % {"n": len(unsupported)}
    return Report(PASS, outcomes, detail)


def _has_pdf_signature(path: Path) -> bool:
    try:
        handle, signatures = _pdf_signatures(path)
    except Exception:
        return False
    handle.close()
    return bool(signatures)


def describe_failure(outcome: Outcome) -> str:
    """The words for a failed signature, with the signer when known."""
    signer = _("（签名人 %(s)s）") % {"s": outcome.signer} if outcome.signer else ""
    return f"{outcome.detail}{signer}"


__all__ = [
    "BAD_SIGNATURE",
    "EXPIRED",
    "FAIL",
    "MODIFIED",
    "NOT_APPLICABLE",
    "NOT_RUN",
    "PASS",
    "UNSUPPORTED",
    "UNTRUSTED",
    "Outcome",
    "Report",
    "chain_verdict",
    "load_trust_roots",
    "trust_store_path",
    "verify_detached",
    "verify_package",
    "verify_pdf",
]
