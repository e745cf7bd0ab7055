#!/usr/bin/env bash
# signet-encord's wheel and sdist, built, checked and installed offline:
#
#   bash tests/packaging/wheel.sh
#
# 1. `python -m build python/ --outdir TMP/dist` (the sdist, then the wheel
#    built from the sdist, so a file missing from the sdist fails here) and
#    `twine check --strict`, with the build and twine of
#    python/requirements-release.txt in .venv-release/ (reused while that file
#    is unchanged);
# 2. the metadata: version = the workspace's, Requires-Dist encord's range as
#    pyproject.toml declares it, License-Expression and both licence files,
#    the classifiers, no Project-URL (none exists yet); the wheel's files:
#    the package with py.typed, the hook module and signet_encord.pth at the
#    top, nothing from tests/ or tools/; the sdist's: the same plus tests/;
# 3. a wheelhouse of encord and its dependencies (`pip download`, the one step
#    that uses the network; encord pinned as python/requirements-test.txt pins
#    it), then into a fresh virtualenv
#    `pip install --no-index --find-links WHEELHOUSE TMP/dist/signet_encord-*.whl`,
#    inside a network namespace without any network when unshare(1) can make
#    one (as root in CI), and `pip check`;
# 4. in that virtualenv, against a real signetd (the release build) holding one
#    key: a fresh interpreter has the import hook installed by the .pth;
#    `signet_encord.__version__` and the installed distribution's version are
#    the workspace's; the unmodified `EncordUserClient.create_with_ssh_private_key
#    ("signet:NAME")` gets a SignetConfig for the agent's key, whose v1
#    headers equal the SDK's own signer's for the same key file (Ed25519 is
#    deterministic); `signet_encord.user_client()` works too;
# 5. `pip uninstall` takes the .pth and the hook module with it.
# Writes only under its temporary directory and .venv-release/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

version="$(workspace_version)"
python="${PYTHON:-python3}"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
bin_dir="${SIGNET_RELEASE_BIN_DIR:-$target_dir/release}"
for b in signet signetd; do
  [[ -x "$bin_dir/$b" ]] || fail "$bin_dir/$b not found: cargo build --release --locked -p signet-cli -p signetd"
done

tmp="$(mktemp -d)"
cleanup() {
  local rc=$?
  set +e
  smoke_cleanup
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pip_quiet=(--quiet --disable-pip-version-check)

# --- the release tools, in their own virtualenv
tools="$repo/.venv-release"
requirements="$repo/python/requirements-release.txt"
want="$(cat "$requirements" <("$python" --version 2>&1) | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$tools/bin/python" || "$(cat "$tools/.stamp" 2>/dev/null)" != "$want" ]]; then
  rm -rf "$tools"
  "$python" -m venv "$tools"
  "$tools/bin/python" -m pip install "${pip_quiet[@]}" -r "$requirements"
  echo "$want" >"$tools/.stamp"
fi

# --- 1. build and check
"$tools/bin/python" -m build "$repo/python" --outdir "$tmp/dist" >"$tmp/build.log" 2>&1 ||
  fail "python -m build python/ failed:
$(tail -n 40 "$tmp/build.log")"
wheel="$tmp/dist/signet_encord-$version-py3-none-any.whl"
sdist="$tmp/dist/signet_encord-$version.tar.gz"
[[ -f "$wheel" && -f "$sdist" ]] || fail "python -m build made $(ls "$tmp/dist"), not signet_encord-$version's wheel and sdist"
"$tools/bin/twine" check --strict "$wheel" "$sdist" >"$tmp/twine.log" 2>&1 ||
  fail "twine check --strict: $(cat "$tmp/twine.log")"
ok "python -m build python/: $(basename "$wheel"), $(basename "$sdist"); twine check --strict passes"

# --- 2. metadata and contents
"$tools/bin/python" - "$wheel" "$sdist" "$version" "$repo/python/pyproject.toml" <<'EOF' || fail "wheel/sdist contents or metadata (above)"
import email.parser, sys, tarfile, zipfile

wheel, sdist, version, pyproject = sys.argv[1:]
problems = []

with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    info = "signet_encord-%s.dist-info/" % version
    meta = email.parser.Parser().parsestr(z.read(info + "METADATA").decode())
    entry = z.read(info + "WHEEL").decode()
    pth = z.read("signet_encord.pth").decode() if "signet_encord.pth" in names else ""

want = {
    "signet_encord.pth", "_signet_encord_hook.py", "signet_encord/__init__.py",
    "signet_encord/py.typed", "signet_encord/_version.py",
    info + "licenses/LICENSE-MIT", info + "licenses/LICENSE-APACHE",
}
problems += ["wheel lacks %s" % n for n in sorted(want - names)]
problems += ["wheel carries %s" % n for n in sorted(names) if n.startswith(("tests/", "tools/")) or "__pycache__" in n]
if pth.strip() != "import _signet_encord_hook; _signet_encord_hook.install()":
    problems.append("signet_encord.pth in the wheel is %r" % pth)
if "Root-Is-Purelib: true" not in entry or "Tag: py3-none-any" not in entry:
    problems.append("WHEEL is not a pure py3-none-any wheel:\n" + entry)

declared = [l for l in open(pyproject, encoding="utf-8") if l.startswith("dependencies = ")][0]
declared_range = declared.split('"encord')[1].split('"')[0]        # >=0.1.128,<0.2
expect = {
    "Name": ["signet-encord"],
    "Version": [version],
    "License-Expression": ["MIT OR Apache-2.0"],
    "License-File": ["LICENSE-APACHE", "LICENSE-MIT"],
    "Requires-Python": [">=3.8"],
}
for field, values in expect.items():
    got = sorted(meta.get_all(field) or [])
    if got != sorted(values):
        problems.append("METADATA %s: %r, want %r" % (field, got, sorted(values)))
requires = meta.get_all("Requires-Dist") or []
parts = sorted(p.strip() for p in requires[0].replace("encord", "", 1).split(",")) if len(requires) == 1 else []
if len(requires) != 1 or not requires[0].startswith("encord") or parts != sorted(declared_range.split(",")):
    problems.append("Requires-Dist: %r, want encord%s" % (requires, declared_range))
classifiers = meta.get_all("Classifier") or []
for c in ("Typing :: Typed", "Programming Language :: Python :: 3 :: Only"):
    if c not in classifiers:
        problems.append("no classifier %r" % c)
if any(c.startswith("License ::") for c in classifiers):
    problems.append("a licence classifier beside License-Expression (PEP 639 forbids it)")
if meta.get_all("Project-URL") or meta.get("Home-page"):
    problems.append("a project URL, but signet has no public home yet")
if "signet agent" not in meta.get("Summary", "") or "signet-encord" not in meta.get_payload():
    problems.append("Summary or the README description is missing")

with tarfile.open(sdist) as t:
    members = {m.split("/", 1)[1] for m in t.getnames() if "/" in m}
for n in ("pyproject.toml", "README.md", "signet_encord.pth", "_signet_encord_hook.py", "signet_encord/py.typed",
          "LICENSE-MIT", "LICENSE-APACHE", "tests/conftest.py", "PKG-INFO"):
    if n not in members:
        problems.append("sdist lacks %s" % n)

for p in problems:
    print("  " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
ok "metadata: version $version, encord range, License-Expression + files, classifiers, no URL; wheel has py.typed, the hook and its .pth"

# --- 3. offline install into a fresh virtualenv
pin="$(grep -E '^encord==' "$repo/python/requirements-test.txt")"
echo "$pin" >"$tmp/constraints.txt"
"$tools/bin/python" -m pip download "${pip_quiet[@]}" --dest "$tmp/wheelhouse" -c "$tmp/constraints.txt" \
  "$wheel" >"$tmp/download.log" 2>&1 || fail "pip download of the dependencies ($pin) failed:
$(tail -n 20 "$tmp/download.log")"
rm -f "$tmp/wheelhouse"/signet_encord-*  # only the dependencies; the wheel comes from dist/
venv="$tmp/venv"
"$python" -m venv "$venv"
offline=()
if unshare --net true 2>/dev/null; then
  offline=(unshare --net)
fi
"${offline[@]}" "$venv/bin/python" -m pip install "${pip_quiet[@]}" --no-index --find-links "$tmp/wheelhouse" \
  "$tmp/dist/signet_encord-$version-py3-none-any.whl" >"$tmp/install.log" 2>&1 ||
  fail "offline install failed:
$(tail -n 20 "$tmp/install.log")"
"$venv/bin/python" -m pip check >"$tmp/check.log" 2>&1 || fail "pip check: $(cat "$tmp/check.log")"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
for f in signet_encord.pth _signet_encord_hook.py signet_encord/py.typed; do
  [[ -f "$site/$f" ]] || fail "the installed wheel has no $site/$f"
done
ok "pip install --no-index --find-links wheelhouse: installed${offline:+ with no network at all (unshare --net)}; pip check clean"

# --- 4. the installed adapter against a real agent
private_env "$tmp/agent"
agent=(env -i "${env_args[@]}" PATH="$bin_dir:/usr/bin:/bin")
/usr/bin/ssh-keygen -q -t ed25519 -N '' -C wheel-smoke -f "$tmp/key"
sock="$tmp/agent/run/signet/agent.sock"
"${agent[@]}" signet start >/dev/null 2>"$tmp/start.log" || fail "signet start: $(cat "$tmp/start.log")"
smoke_stop=("${agent[@]}" SIGNET_AUTH_SOCK="$sock" signet stop)
"${agent[@]}" SIGNET_AUTH_SOCK="$sock" signet add "$tmp/key" >/dev/null 2>&1 || fail "signet add"
key_id="$("${agent[@]}" SIGNET_AUTH_SOCK="$sock" signet list --json |
  "$venv/bin/python" -c 'import json, sys; j = json.load(sys.stdin); keys = j["keys"] if isinstance(j, dict) else j
print([k["key_id"] for k in keys if k["name"] == "wheel-smoke"][0])')" ||
  fail "signet list --json names no key wheel-smoke"

env -i "${env_args[@]}" PATH=/usr/bin:/bin SIGNET_AUTH_SOCK="$sock" \
  "$venv/bin/python" - "$version" "$key_id" "$tmp/key" <<'EOF' || fail "the installed signet-encord (above)"
import importlib.metadata, sys

version, key_id, key_file = sys.argv[1:]
import _signet_encord_hook as hook

status = hook.hook_status()
assert status["installed"] and not status["patched"], "the .pth did not install the hook at start-up: %r" % status

import signet_encord
from encord import EncordUserClient
from encord.configs import SshConfig
from encord.http.constants import RequestsSettings

assert signet_encord.__version__ == version, (signet_encord.__version__, version)
assert importlib.metadata.version("signet-encord") == version
assert hook.hook_status()["patched"], hook.hook_status()

settings = RequestsSettings(trace_id_provider=lambda: "00112233445566778899aabbccddeeff/1;o=1")
client = EncordUserClient.create_with_ssh_private_key("signet:wheel-smoke", requests_settings=settings)
config = client.user_config.config
assert isinstance(config, signet_encord.SignetConfig), type(config)
assert config.public_key_hex == key_id, (config.public_key_hex, key_id)
with open(key_file) as f:
    sdk = SshConfig.from_ssh_private_key(f.read(), requests_settings=settings)  # the SDK's own signer
for body in ("", "{}"):
    ours, theirs = config.define_headers(None, None, body), sdk.define_headers(None, None, body)
    assert ours == theirs, "v1 headers differ for %r:\nagent %r\nSDK   %r" % (body, ours, theirs)
assert signet_encord.user_client(key="wheel-smoke").user_config.config.public_key_hex == key_id
print("wheel.sh: signet-encord %s from %s, hook patched, key %s..." % (version, signet_encord.__file__, key_id[:16]), file=sys.stderr)
EOF
"${smoke_stop[@]}" >/dev/null 2>&1 || fail "signet stop"
smoke_stop=()
ok "installed wheel: hook on at start-up, __version__ $version, an unmodified SDK call signs through the agent as the SDK would"

# --- 5. uninstall takes the hook with it
"$venv/bin/python" -m pip uninstall "${pip_quiet[@]}" -y signet-encord >/dev/null 2>&1 || fail "pip uninstall"
left="$(cd "$site" && ls -d signet_encord* _signet_encord_hook* 2>/dev/null || true)"
[[ -z "$left" ]] || fail "pip uninstall left in site-packages: $left"
ok "pip uninstall: the .pth and the hook module are gone"
