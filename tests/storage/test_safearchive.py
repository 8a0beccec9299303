"""Safe ZIP extraction and folder listing: every hostile entry refused with a Chinese message,
nothing written outside dest, nothing left behind after a refusal."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from lantai.core.safearchive import UnsafeArchiveError, extract_zip, list_folder


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]], **kwargs) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, **kwargs) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def special(name: str, mode: int, data: bytes = b"") -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: the mode bits in external_attr mean something
    info.external_attr = mode << 16
    return info, data


def patch_headers(path: Path, *, flag: int | None = None, names: dict[bytes, bytes] | None = None):
    """Rewrite local and central headers in place (same-length names): set general-purpose
    flag bits, or swap a placeholder name for raw bytes (e.g. GBK without the UTF-8 flag)."""
    raw = bytearray(path.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (at := raw.find(signature, start)) != -1:
            if flag is not None:
                (bits,) = struct.unpack_from("<H", raw, at + flag_offset)
                struct.pack_into("<H", raw, at + flag_offset, bits | flag)
            start = at + 4
    for old, new in (names or {}).items():
        assert len(old) == len(new)
        raw = bytearray(bytes(raw).replace(old, new))
    path.write_bytes(bytes(raw))


def nothing_written(tmp_path: Path, zip_path: Path) -> None:
    leftovers = [p for p in tmp_path.rglob("*") if p != zip_path]
    assert leftovers == []


@pytest.fixture
def dest(tmp_path) -> Path:
    return tmp_path / "batch" / "files"


def test_a_good_zip_is_extracted_below_dest(tmp_path, dest):
    zpath = make_zip(
        tmp_path / "ok.zip",
        [("Z109-WS·2011-Y-0001.pdf", b"%PDF-1"), ("附件/说明.txt", "说明".encode()), ("空/", b"")],
    )
    files = extract_zip(zpath, dest)
    assert sorted(p.relative_to(dest).as_posix() for p in files) == [
        "Z109-WS·2011-Y-0001.pdf",
        "附件/说明.txt",
    ]
    assert (dest / "附件" / "说明.txt").read_text() == "说明"
    assert (dest / "空").is_dir()
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]  # temp dir gone


def test_gbk_names_from_chinese_windows_are_decoded(tmp_path, dest):
    gbk = "归档文件目录/数据.txt".encode("gbk")  # 数 is 0xCA 0xFD; some GBK bytes are 0x5C
    placeholder = b"x" * len(gbk)
    zpath = make_zip(tmp_path / "gbk.zip", [(placeholder.decode(), b"GBK")])
    patch_headers(zpath, names={placeholder: gbk})
    with zipfile.ZipFile(zpath) as zf:
        assert not zf.infolist()[0].flag_bits & 0x800  # really no UTF-8 flag
    files = extract_zip(zpath, dest)
    assert [p.relative_to(dest).as_posix() for p in files] == ["归档文件目录/数据.txt"]


def test_gbk_name_whose_second_byte_is_a_backslash(tmp_path, dest):
    # 乗 is 0x81 0x5C in GBK: its second byte is '\', which must not split the name.
    name = "乗车记录.txt"
    gbk = name.encode("gbk")
    assert b"\\" in gbk
    placeholder = b"y" * len(gbk)
    zpath = make_zip(tmp_path / "gbk5c.zip", [(placeholder.decode(), b"x")])
    patch_headers(zpath, names={placeholder: gbk})
    files = extract_zip(zpath, dest)
    assert [p.name for p in files] == [name]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.txt", "路径穿越"),
        ("a/../../evil.txt", "路径穿越"),
        ("a\\..\\..\\evil.txt", "路径穿越"),
        ("/etc/evil.txt", "绝对路径"),
        ("C:/Windows/evil.txt", "盘符"),
    ],
)
def test_entries_escaping_dest_are_refused(tmp_path, dest, name, reason):
    zpath = make_zip(tmp_path / "evil.zip", [("ok.txt", b"fine"), (name, b"evil")])
    with pytest.raises(UnsafeArchiveError) as info:
        extract_zip(zpath, dest)
    assert reason in str(info.value) and "evil.txt" in str(info.value)
    nothing_written(tmp_path, zpath)


def test_symlink_entries_are_refused(tmp_path, dest):
    zpath = make_zip(
        tmp_path / "link.zip", [special("passwd", stat.S_IFLNK | 0o777, b"/etc/passwd")]
    )
    with pytest.raises(UnsafeArchiveError, match=r"符号链接.*passwd"):
        extract_zip(zpath, dest)
    nothing_written(tmp_path, zpath)


@pytest.mark.parametrize("kind", [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK])
def test_device_and_special_entries_are_refused(tmp_path, dest, kind):
    zpath = make_zip(tmp_path / "dev.zip", [("ok.txt", b"x"), special("dev/sda", kind | 0o600)])
    with pytest.raises(UnsafeArchiveError, match=r"设备文件或其他特殊文件.*dev/sda"):
        extract_zip(zpath, dest)
    nothing_written(tmp_path, zpath)


def test_encrypted_entries_are_refused(tmp_path, dest):
    zpath = make_zip(tmp_path / "secret.zip", [("机密.txt", b"secret")])
    patch_headers(zpath, flag=0x1)
    with pytest.raises(UnsafeArchiveError, match=r"已加密.*机密.txt"):
        extract_zip(zpath, dest)
    nothing_written(tmp_path, zpath)


def test_a_bomb_over_the_total_size_is_refused(tmp_path, dest):
    zpath = make_zip(tmp_path / "bomb.zip", [(f"zeros{i}.bin", bytes(4 << 20)) for i in range(4)])
    with pytest.raises(UnsafeArchiveError, match=r"超过上限.*压缩炸弹"):
        extract_zip(zpath, dest, max_total=10 << 20, max_ratio=10_000)
    nothing_written(tmp_path, zpath)


def test_a_bomb_over_the_ratio_is_refused(tmp_path, dest):
    zpath = make_zip(tmp_path / "bomb.zip", [("zeros.bin", bytes(20 << 20))])
    with pytest.raises(UnsafeArchiveError, match=r"压缩比超过 100 倍"):
        extract_zip(zpath, dest, max_ratio=100)
    nothing_written(tmp_path, zpath)


def test_lying_headers_do_not_get_past_the_streaming_checks(tmp_path, dest):
    # Declare 1 KB for an entry that inflates to 8 MB: the headers pass, the bytes do not.
    zpath = make_zip(tmp_path / "liar.zip", [("ok.txt", b"fine"), ("liar.bin", bytes(8 << 20))])
    raw = bytearray(zpath.read_bytes())
    for signature, size_offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := raw.find(signature, start)) != -1:
            (declared,) = struct.unpack_from("<I", raw, at + size_offset)
            if declared == 8 << 20:
                struct.pack_into("<I", raw, at + size_offset, 1024)
            start = at + 4
    zpath.write_bytes(bytes(raw))
    with pytest.raises(UnsafeArchiveError, match=r"liar.bin"):
        extract_zip(zpath, dest)
    nothing_written(tmp_path, zpath)


def test_too_many_files_are_refused(tmp_path, dest):
    zpath = make_zip(tmp_path / "many.zip", [(f"{i}.txt", b"x") for i in range(11)])
    with pytest.raises(UnsafeArchiveError, match=r"11 个条目，超过上限 10 个"):
        extract_zip(zpath, dest, max_files=10)
    nothing_written(tmp_path, zpath)


def test_duplicate_names_are_refused(tmp_path, dest):
    with pytest.warns(UserWarning):
        zpath = make_zip(tmp_path / "dup.zip", [("a.txt", b"1"), ("a.txt", b"2")])
    with pytest.raises(UnsafeArchiveError, match=r"重名.*a.txt"):
        extract_zip(zpath, dest)
    nothing_written(tmp_path, zpath)


def test_a_corrupt_zip_gets_a_clear_message(tmp_path, dest):
    zpath = tmp_path / "broken.zip"
    zpath.write_bytes(b"PK\x03\x04 this is not really a zip" * 10)
    with pytest.raises(UnsafeArchiveError, match=r"不是有效的 ZIP 文件或已损坏"):
        extract_zip(zpath, dest)
    nothing_written(tmp_path, zpath)


def test_a_damaged_entry_is_refused_and_cleaned_up(tmp_path, dest):
    zpath = make_zip(tmp_path / "crc.zip", [("a.txt", b"a" * 5000), ("b.txt", b"b" * 5000)])
    raw = bytearray(zpath.read_bytes())
    at = raw.find(b"PK\x03\x04", 10)  # second entry's local header
    name_len, extra_len = struct.unpack_from("<HH", raw, at + 26)
    data_at = at + 30 + name_len + extra_len
    raw[data_at + 2] ^= 0xFF
    zpath.write_bytes(bytes(raw))
    with pytest.raises(UnsafeArchiveError, match=r"b.txt|crc.zip"):
        extract_zip(zpath, dest)
    nothing_written(tmp_path, zpath)


def test_a_non_empty_dest_is_refused(tmp_path, dest):
    dest.mkdir(parents=True)
    (dest / "catalog.xlsx").write_bytes(b"keep")
    zpath = make_zip(tmp_path / "ok.zip", [("a.txt", b"x")])
    with pytest.raises(UnsafeArchiveError, match=r"不为空"):
        extract_zip(zpath, dest)
    assert (dest / "catalog.xlsx").read_bytes() == b"keep"


def test_an_existing_empty_dest_is_kept_and_filled(tmp_path, dest):
    dest.mkdir(parents=True)
    zpath = make_zip(tmp_path / "ok.zip", [("a.txt", b"x")])
    assert extract_zip(zpath, dest) == [dest / "a.txt"]


def test_limits_default_to_settings(tmp_path, dest, settings):
    settings.LANTAI_ZIP_MAX_FILES = 2
    zpath = make_zip(tmp_path / "many.zip", [(f"{i}.txt", b"x") for i in range(3)])
    with pytest.raises(UnsafeArchiveError, match=r"超过上限 2 个"):
        extract_zip(zpath, dest)


# --- folders --------------------------------------------------------------------------------


def test_list_folder_returns_regular_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "二.pdf").write_bytes(b"2")
    (tmp_path / "一.pdf").write_bytes(b"1")
    assert list_folder(tmp_path) == sorted([tmp_path / "一.pdf", tmp_path / "a" / "b" / "二.pdf"])


def test_list_folder_refuses_symlinks(tmp_path):
    (tmp_path / "files").mkdir()
    os.symlink("/etc", tmp_path / "files" / "etc")
    with pytest.raises(UnsafeArchiveError, match=r"符号链接.*etc"):
        list_folder(tmp_path / "files")


def test_list_folder_refuses_special_files(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UnsafeArchiveError, match=r"特殊文件.*pipe"):
        list_folder(tmp_path)


def test_list_folder_limits_the_count(tmp_path):
    for i in range(4):
        (tmp_path / f"{i}.txt").write_bytes(b"x")
    with pytest.raises(UnsafeArchiveError, match=r"超过上限 3 个"):
        list_folder(tmp_path, max_files=3)
