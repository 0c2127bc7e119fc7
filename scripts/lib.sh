# Shared by scripts/demo, scripts/test and scripts/bench: system packages and the venv.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root or sudo to install system packages: $*" >&2; exit 1
  fi
}

# ensure_packages PKG... : apt-get install whatever is missing (one apt-get update first).
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "error: missing ${missing[*]} and no apt-get; install them by hand" >&2; exit 1
  fi
  echo "==> installing system packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

pick_python() {
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  echo "error: BanGUI needs Python 3.11 or newer" >&2; exit 1
}

# ensure_venv [EXTRA] : .venv with BanGUI installed (editable), reinstalled when pyproject changes.
# An install with an extra also satisfies a later call without it (the stamp
# records the extra), so the demo does not reinstall what the tests installed.
ensure_venv() {
  local extra="${1:-}" spec="." hash stamp have
  [ -n "$extra" ] && spec=".[$extra]"
  hash="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  stamp="$hash-$extra"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$(pick_python)" -m venv "$VENV"
  fi
  have="$(cat "$VENV/.bangui-stamp" 2>/dev/null || true)"
  if [ -z "$extra" ] && [ "${have%%-*}" = "$hash" ]; then
    return 0
  fi
  if [ "$have" != "$stamp" ]; then
    echo "==> installing BanGUI into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    (cd "$ROOT" && "$VENV/bin/python" -m pip install -q -e "$spec")
    echo "$stamp" > "$VENV/.bangui-stamp"
  fi
}

# ensure_user NAME : a system user without a home or a shell (BanGUI's unprivileged web user).
ensure_user() {
  id "$1" >/dev/null 2>&1 && return 0
  echo "==> creating the system user $1"
  as_root useradd --system --no-create-home --shell /usr/sbin/nologin "$1"
}

# as_user NAME CMD... : run CMD as NAME (no login shell, the environment kept).
as_user() {
  local name=$1
  shift
  setpriv --reuid="$name" --regid="$name" --init-groups -- "$@"
}

# ensure_app_copy DIR [EXTRA] : BanGUI's tracked files in DIR/app and a venv in DIR/venv, both
# readable by every user, for running BanGUI as an unprivileged user: the checkout (often
# under /root) and its venv (perhaps built on a Python under /root) may not be. The copy is
# refreshed on every call; the venv is rebuilt when pyproject.toml changes.
ensure_app_copy() {
  local dir=$1 extra="${2:-}" py hash spec="."
  [ -n "$extra" ] && spec=".[$extra]"
  as_root install -d -m 755 "$dir"
  rm -rf "$dir/app.new" && install -d -m 755 "$dir/app.new"
  if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) \
      | (cd "$ROOT" && tar --null -T - -cf -) | tar -xf - -C "$dir/app.new"
  else
    tar -C "$ROOT" --exclude=./.venv --exclude=./data --exclude=./staticfiles -cf - . \
      | tar -xf - -C "$dir/app.new"
  fi
  rm -rf "$dir/app" && mv "$dir/app.new" "$dir/app"
  chmod -R a+rX "$dir/app"
  hash="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)-$extra"
  if [ "$(cat "$dir/venv/.bangui-stamp" 2>/dev/null || true)" != "$hash" ]; then
    py=""
    for candidate in /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11 /usr/bin/python3 "$(pick_python)"; do
      command -v "$candidate" >/dev/null || continue
      "$candidate" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || continue
      py="$candidate"; break
    done
    echo "==> installing BanGUI for the unprivileged user into $dir/venv"
    rm -rf "$dir/venv"
    "$py" -m venv "$dir/venv"
    "$dir/venv/bin/python" -m pip install -q --upgrade pip
    (cd "$dir/app" && "$dir/venv/bin/python" -m pip install -q "$spec")
    echo "$hash" > "$dir/venv/.bangui-stamp"
    chmod -R a+rX "$dir/venv"
  fi
}
