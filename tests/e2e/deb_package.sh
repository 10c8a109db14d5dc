#!/usr/bin/env bash
# deb_package.sh - scripts/package builds the jobrt and jobrt-dev .deb
# files from this tree and lintian passes them; together they hold exactly
# what `cmake --install` of the same tree installs (jobrt-dev the SDK,
# jobrt the rest: binary, unit, man pages...), plus the Debian files
# (/etc/jobrt/, the plugin directory, docs); their dependencies and
# maintainer scripts are sane; and unpacked with dpkg -x into a temporary
# root (not installed), the README's plugin builds against that SDK with
# CMake and pkg-config and runs with that jobrt. Nothing is installed on
# this machine.
. "$(dirname "$0")/lib.sh"

missing=()
for tool in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian \
    fakeroot:fakeroot git:git; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "SKIP: $E2E_NAME: missing ${missing[*]}: apt-get install ${missing[*]}"
    exit 77
fi
if ! git -C "$JOBRT_SOURCE_DIR" rev-parse --git-dir >/dev/null 2>&1; then
    echo "SKIP: $E2E_NAME: $JOBRT_SOURCE_DIR is not a git checkout (scripts/package needs one)"
    exit 77
fi
# The packages are built from the sources, not from this build: a
# sanitizer build (scripts/test's second and third stages) would only
# build the same packages again.
if grep -Eq '^JOBRT_SANITIZE:[A-Z]+=.+' "$JOBRT_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
    echo "SKIP: $E2E_NAME: a sanitizer build (the normal build's run covers the packages)"
    exit 77
fi

e2e_setup --no-redis
e2e_require "$JOBRT_BUILD_DIR/CMakeCache.txt" "the build directory"
for tool in cmake make cc pkg-config nm dpkg-deb; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done
OUTDIR="$E2E_WORK/out"

log "scripts/package --out $OUTDIR (a full build and lintian)"
run_cmd env TMPDIR="$E2E_TMP" "$JOBRT_SOURCE_DIR/scripts/package" --out "$OUTDIR"
assert_eq 0 "$RC" "scripts/package ($OUT $ERR)"
if printf '%s\n' "$OUT" "$ERR" | grep -E '^[EW]: '; then
    fail "lintian reports errors or warnings (above)"
fi
assert_contains "$OUT" "lintian --fail-on error,warning" "scripts/package ran lintian"

changes=$(find "$OUTDIR" -name 'jobrt_*.changes')
[ "$(printf '%s\n' "$changes" | grep -c .)" = 1 ] ||
    fail "expected one .changes in $OUTDIR, got: $changes"
version=$(sed -n 's/^Version: //p' "$changes")
runtime=$(sed -n 's/^#define JOBRT_VERSION "\(.*\)"$/\1/p' \
    "$JOBRT_SOURCE_DIR/runtime/core/version.h")
release=$(dpkg-parsechangelog -l "$JOBRT_SOURCE_DIR/debian/changelog" -S Version)
assert_eq "$runtime" "${release%-*}" "debian/changelog's upstream version"
# Uncommitted changes show in the version; a clean tree is the release.
if [ -n "$(git -C "$JOBRT_SOURCE_DIR" status --porcelain --untracked-files=normal)" ]; then
    assert_contains "$version" "$release~dirty." "the version of a dirty tree's packages"
else
    assert_eq "$release" "$version" "the packages' version"
fi
arch=$(dpkg --print-architecture)
DEB="$OUTDIR/jobrt_${version}_$arch.deb"
DEV="$OUTDIR/jobrt-dev_${version}_all.deb"
for f in "$DEB" "$DEV" "$OUTDIR/jobrt_${version}_$arch.buildinfo"; do
    [ -f "$f" ] || fail "scripts/package made no $f"
    assert_contains "$OUT" "$f" "scripts/package's list of files"
done
# Nothing is built in the source tree or written beside it (where
# dpkg-buildpackage puts its output).
for f in "$JOBRT_SOURCE_DIR"/obj-* "$JOBRT_SOURCE_DIR"/debian/.debhelper \
    "$JOBRT_SOURCE_DIR"/debian/files "$JOBRT_SOURCE_DIR"/debian/jobrt \
    "$JOBRT_SOURCE_DIR"/../jobrt*_"$version"_*; do
    [ ! -e "$f" ] || fail "scripts/package left $f"
done

# ---- contents: cmake --install of the same tree, split in two ----------
# (DESTDIR, or this would install into the machine's /usr)
run_cmd env DESTDIR="$E2E_WORK/destdir" cmake --install "$JOBRT_BUILD_DIR" --prefix /usr
assert_eq 0 "$RC" "cmake --install into a DESTDIR ($ERR)"
expected_all=$(cd "$E2E_WORK/destdir" && find . ! -type d | sed 's|^\./||' |
    sed 's|^usr/lib/systemd/|lib/systemd/|' | # bookworm: units in /lib
    sed -E 's|^(usr/share/man/.*)$|\1.gz|' |   # dh_compress
    sort)
[ -n "$expected_all" ] || fail "cmake --install installed nothing"
sdk_re='^usr/(include/|share/cmake/|share/pkgconfig/|share/jobrt/)'
expected_dev=$(printf '%s\n' "$expected_all" | grep -E "$sdk_re")
expected_rt=$(printf '%s\n' "$expected_all" | grep -vE "$sdk_re")
# package_files DEB: its files (not directories), without the Debian ones
# checked below (docs, lintian overrides, the example env file).
package_files()
{
    dpkg-deb -c "$1" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./||' |
        grep -vE '^usr/share/(doc|lintian/overrides)/|^etc/jobrt/jobrt\.env\.example$' |
        sort
}
assert_eq "$expected_rt" "$(package_files "$DEB")" "the files of jobrt"
assert_eq "$expected_dev" "$(package_files "$DEV")" "the files of jobrt-dev"
rt_files="usr/bin/jobrt lib/systemd/system/jobrt@.service"
if [ -f "$JOBRT_SOURCE_DIR/cmake/cli_docs.cmake" ]; then # the man pages and completion
    rt_files+=" usr/share/man/man1/jobrt.1.gz usr/share/man/man1/jobrt-run.1.gz"
    rt_files+=" usr/share/bash-completion/completions/jobrt"
fi
for f in $rt_files; do
    grep -qx "$f" <<<"$expected_rt" || fail "jobrt has no $f"
done
for f in usr/include/jobrt/plugin.h usr/share/cmake/jobrt/jobrt-config.cmake \
    usr/share/pkgconfig/jobrt-plugin.pc usr/share/jobrt/jobrt-plugin.map; do
    grep -qx "$f" <<<"$expected_dev" || fail "jobrt-dev has no $f"
done
listing=$(dpkg-deb -c "$DEB")
for d in etc/jobrt var/lib/jobrt var/lib/jobrt/plugins; do
    grep -qE "^drwxr-xr-x root/root .* \./$d/\$" <<<"$listing" ||
        fail "jobrt has no root:root 0755 $d/: $listing"
done
for p in jobrt jobrt-dev; do
    listing=$(dpkg-deb -c "$OUTDIR/${p}_${version}_"*.deb)
    for f in copyright changelog.Debian.gz; do
        grep -q "\./usr/share/doc/$p/$f\$" <<<"$listing" ||
            fail "$p has no /usr/share/doc/$p/$f"
    done
done

# ---- control fields -----------------------------------------------------
field() { dpkg-deb -f "$1" "$2"; }
assert_eq "$arch" "$(field "$DEB" Architecture)" "jobrt's Architecture"
assert_eq all "$(field "$DEV" Architecture)" "jobrt-dev's Architecture"
assert_eq foreign "$(field "$DEB" Multi-Arch)" "jobrt's Multi-Arch"
assert_eq foreign "$(field "$DEV" Multi-Arch)" "jobrt-dev's Multi-Arch"
deps=$(field "$DEB" Depends)
for lib in adduser libc6 libhiredis0.14 libuv1 libcjson1 libssl3 libsystemd0 \
    libhttp-parser2.9; do
    assert_contains "$deps" "$lib" "jobrt's Depends"
done
assert_not_contains "$deps" "-dev" "jobrt's Depends"
assert_not_contains "$deps" "redis-server" "jobrt's Depends (Redis may be remote)"
# The SDK is a header and CMake/pkg-config text: it needs nothing to unpack.
assert_eq "" "$(field "$DEV" Depends)" "jobrt-dev's Depends"
assert_contains "$(field "$DEV" Recommends)" "c-compiler" "jobrt-dev's Recommends"

# ---- maintainer scripts -------------------------------------------------
dpkg-deb -e "$DEB" "$E2E_WORK/control"
for s in postinst prerm postrm; do
    [ -f "$E2E_WORK/control/$s" ] || fail "jobrt has no $s"
    sh -n "$E2E_WORK/control/$s" || fail "jobrt's $s is not valid sh"
done
post=$(cat "$E2E_WORK/control/postinst")
assert_contains "$post" "adduser --quiet --system" "postinst makes the jobrt user"
assert_contains "$post" "--home /var/lib/jobrt --shell /usr/sbin/nologin" \
    "the jobrt user's home and shell"
assert_contains "$post" "--add root jobrt 0750 /etc/jobrt" "/etc/jobrt's owner and mode"
# The template unit is never enabled or started by the package (the
# scripts' code, not their comments).
scripts=$(cat "$E2E_WORK/control/postinst" "$E2E_WORK/control/prerm" \
    "$E2E_WORK/control/postrm" | grep -v '^[[:space:]]*#')
for word in "deb-systemd-helper enable" "systemctl enable" "invoke start" \
    "systemctl start" "chown jobrt" "jobrt:jobrt" "rm -rf"; do
    assert_not_contains "$scripts" "$word" "the maintainer scripts"
done
assert_eq "/etc/jobrt/jobrt.env.example" "$(cat "$E2E_WORK/control/conffiles")" \
    "jobrt's conffiles"

# ---- unpacked, not installed: the SDK builds the README's plugin --------
ROOT="$E2E_WORK/root"
dpkg-deb -x "$DEB" "$ROOT"
dpkg-deb -x "$DEV" "$ROOT"
grep -q '^ExecStart=/usr/bin/jobrt run --plugin-dir /var/lib/jobrt/plugins ' \
    "$ROOT/lib/systemd/system/jobrt@.service" ||
    fail "the packaged unit's ExecStart: $(grep ExecStart "$ROOT/lib/systemd/system/jobrt@.service")"
run_cmd "$ROOT/usr/bin/jobrt" version
assert_eq 0 "$RC" "the packaged jobrt version ($ERR)"
assert_contains "$OUT" "jobrt $runtime" "the packaged jobrt version"
sdk_build_readme_plugin "$ROOT/usr" "$E2E_WORK/readme"
pass
