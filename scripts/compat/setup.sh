#!/usr/bin/env bash
# Installs the third-party Mesos scheduler libraries that test/integration/compat-thirdparty.test.ts runs
# against `kmf mesos-sim` (pymesos and mesoshttp, from PyPI) into an isolated venv: .kmf/compat/venv.
# Idempotent: when the venv was built from the same pinned files it returns at once.
set -euo pipefail
cd "$(dirname "$0")/../.."

here=scripts/compat
dest=.kmf/compat
venv="$dest/venv"
python="${KMF_COMPAT_PYTHON:-python3}"

stamp="$(cat "$here/requirements.txt" "$here/http-parser.txt" "$here/setup.sh" | sha256sum | cut -d' ' -f1)"
if [ -f "$venv/.kmf-stamp" ] && [ "$(cat "$venv/.kmf-stamp")" = "$stamp" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi

echo "compat: building $venv" >&2
rm -rf "$venv"
mkdir -p "$dest"
"$python" -m venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
pip=("$venv/bin/python" -m pip --quiet)

# http-parser: fetch the pinned sdist (hash-checked) and install only its Python modules; see http-parser.txt.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"${pip[@]}" download --no-deps --no-binary :all: --require-hashes -r "$here/http-parser.txt" -d "$work"
tar -xzf "$work"/http-parser-0.9.0.tar.gz -C "$work"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
mkdir -p "$site/http_parser" "$site/http_parser-0.9.0.dist-info"
cp "$work"/http-parser-0.9.0/http_parser/*.py "$site/http_parser/"
# Minimal metadata so pip sees the distribution as installed (pymesos declares it as a requirement).
printf 'Metadata-Version: 2.1\nName: http-parser\nVersion: 0.9.0\n' >"$site/http_parser-0.9.0.dist-info/METADATA"
printf 'kmf-compat-setup\n' >"$site/http_parser-0.9.0.dist-info/INSTALLER"
(cd "$site" && find http_parser http_parser-0.9.0.dist-info -type f -printf '%p,,\n') >"$site/http_parser-0.9.0.dist-info/RECORD"

# Everything else: exact versions, hash-checked, no unlisted dependency.
"${pip[@]}" install --no-deps --require-hashes -r "$here/requirements.txt"
"${pip[@]}" check >&2

# The libraries must import; pymesos must use the pure-Python HTTP parser.
"$venv/bin/python" - <<'PY'
import pymesos
import mesoshttp.client
import http_parser.http as h
import http_parser.pyparser as p
assert h.HttpParser is p.HttpParser, "unexpected http-parser backend"
print("compat: pymesos", pymesos.__VERSION__, "and mesoshttp ready", flush=True)
PY
echo "$stamp" >"$venv/.kmf-stamp"
