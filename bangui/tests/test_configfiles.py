"""Safe names, paths and atomic writes under a config dir (real files, real OS errors)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bangui.fail2ban import configfiles as cf
from bangui.fail2ban.configfiles import ConfigFileError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for sub in cf.EDITABLE_DIRS:
        (tmp_path / sub).mkdir()
    (tmp_path / "jail.conf").write_text("[DEFAULT]\n")
    (tmp_path / "filter.d" / "sshd.conf").write_text("[Definition]\n")
    (tmp_path / "filter.d" / "sshd.local").write_text("[Definition]\n# mine\n")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../../etc/passwd", "slashes"),
        ("x.conf/", "slashes"),
        ("", "required"),
        ("a" * 120 + ".conf", "too long"),
        ("sshd.txt", ".conf or .local"),
        ("..conf", "“..”"),
        (".hidden.conf", "starting with"),
        ("a b.conf", "letters"),
    ],
)
def test_bad_names_are_refused_with_a_clear_message(name, fragment):
    with pytest.raises(ConfigFileError, match=fragment):
        cf.clean_name(name)


def test_resolve_keeps_paths_inside_their_directory(root):
    assert cf.resolve(root, "jail.d", "x.local") == root / "jail.d" / "x.local"
    assert cf.resolve(root, "", "jail.local") == root / "jail.local"
    with pytest.raises(ConfigFileError, match="top level"):
        cf.resolve(root, "", "jail.conf")
    with pytest.raises(ConfigFileError, match="not an editable"):
        cf.resolve(root, "../etc", "x.conf")
    with pytest.raises(ConfigFileError, match="does not exist"):
        cf.resolve(root, "jail.d", "x.local", must_exist=True)


def test_symlinks_out_are_refused_and_never_written_through(root, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "secret.conf"
    outside.write_text("secret")
    (root / "filter.d" / "evil.conf").symlink_to(outside)
    with pytest.raises(ConfigFileError, match="points outside"):
        cf.read_file(root, "filter.d", "evil.conf")
    (root / "filter.d" / "inner.conf").symlink_to(root / "filter.d" / "sshd.conf")
    assert cf.read_file(root, "filter.d", "inner.conf") == b"[Definition]\n"
    with pytest.raises(ConfigFileError, match="symbolic link"):
        cf.resolve(root, "filter.d", "inner.conf", for_write=True)
    with pytest.raises(ConfigFileError, match="symbolic link"):
        cf.write_atomic(root / "filter.d" / "evil.conf", b"x")
    assert outside.read_text() == "secret"
    assert [f.name for f in cf.list_files(root, "filter.d")] == [
        "inner.conf",
        "sshd.conf",
        "sshd.local",
    ]


def test_list_files_reports_overrides(root):
    infos = {f.name: f for f in cf.list_files(root, "filter.d")}
    assert infos["sshd.local"].is_local and infos["sshd.local"].overrides
    assert infos["sshd.conf"].overridden and not infos["sshd.conf"].is_local
    assert infos["sshd.conf"].size == len("[Definition]\n")
    assert cf.list_files(root, "") == []


def test_large_files_are_refused(root):
    big = b"#" * (600 * 1024)
    with pytest.raises(ConfigFileError, match="512 KB"):
        cf.write_atomic(root / "jail.d" / "big.local", big)
    assert not (root / "jail.d" / "big.local").exists()
    (root / "jail.d" / "big.local").write_bytes(big)
    with pytest.raises(ConfigFileError, match="larger than 512 KB"):
        cf.read_file(root, "jail.d", "big.local")


def test_atomic_write_keeps_mode_and_leaves_no_temp_file(root):
    target = root / "jail.d" / "a.local"
    cf.write_atomic(target, b"[a]\n")
    assert target.read_bytes() == b"[a]\n"
    assert target.stat().st_mode & 0o777 == 0o644
    os.chmod(target, 0o600)
    inode = target.stat().st_ino
    cf.write_atomic(target, b"[a]\nenabled = true\n")
    assert target.read_bytes() == b"[a]\nenabled = true\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.local"]


def test_write_errors_carry_the_os_message_and_clean_up(root):
    # Tests run as root, where chmod 0555 does not stop writes; the immutable
    # attribute does (the container has CAP_LINUX_IMMUTABLE).
    jail_d = root / "jail.d"
    subprocess.run(["chattr", "+i", str(jail_d)], check=True)
    try:
        with pytest.raises(
            ConfigFileError, match=r"cannot write .*x\.local: Operation not permitted"
        ):
            cf.write_atomic(jail_d / "x.local", b"[x]\n")
    finally:
        subprocess.run(["chattr", "-i", str(jail_d)], check=True)
    # A directory where the file should be: os.replace fails, the temp file goes.
    (jail_d / "d.local").mkdir()
    with pytest.raises(ConfigFileError, match="Is a directory"):
        cf.write_atomic(jail_d / "d.local", b"[x]\n")
    assert sorted(p.name for p in jail_d.iterdir()) == ["d.local"]


def test_snapshot_restore_is_byte_for_byte(root):
    a = root / "filter.d" / "sshd.local"
    b = root / "jail.d" / "new.local"
    original = a.read_bytes()
    snap = cf.snapshot([a, b])
    assert snap == {a: original, b: None}
    cf.write_atomic(a, b"changed")
    cf.write_atomic(b, b"created")
    cf.restore(snap)
    assert a.read_bytes() == original
    assert not b.exists()


def test_backup_copies_the_previous_content(root, tmp_path_factory):
    backups = tmp_path_factory.mktemp("backups")
    a = root / "filter.d" / "sshd.local"
    saved = cf.backup(a, backups, root=root)
    assert saved is not None and saved.read_bytes() == a.read_bytes()
    assert saved.relative_to(backups).parts[1:] == ("filter.d", "sshd.local")
    assert cf.backup(root / "jail.d" / "none.local", backups) is None


def test_configured_jails_look_at_the_files_once_a_second_and_after_every_write(
    tmp_path, monkeypatch
):
    from bangui.fail2ban import configfiles, configreader

    (tmp_path / "jail.conf").write_text("[sshd]\n")
    (tmp_path / "jail.d").mkdir()
    looks = []
    real = configreader.jail_files_fingerprint

    def counted(config_dir: str):  # type: ignore[no-untyped-def]
        looks.append(config_dir)
        return real(config_dir)

    monkeypatch.setattr(configreader, "jail_files_fingerprint", counted)
    monkeypatch.setattr(configreader, "run_reader", lambda *a, **k: {"sshd": {}})
    configreader.configured_jails_forget()
    configreader.configured_jails(str(tmp_path))
    configreader.configured_jails(str(tmp_path))
    assert len(looks) == 1  # the second view within a second: no stat per file
    configfiles.write_atomic(tmp_path / "jail.d" / "x.local", b"[x]\n")
    configreader.configured_jails(str(tmp_path))
    assert len(looks) == 2  # BanGUI's own write is seen at once
