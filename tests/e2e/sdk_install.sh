#!/usr/bin/env bash
# sdk_install.sh - `cmake --install` puts the runtime and the plugin SDK
# into a prefix that still works after it is moved (every path of the CMake
# package and the .pc file is relative to their own location), and a
# plugin builds from an empty directory against it alone, exactly as the
# README's plugin section says, with CMake (find_package, with its version
# check) and with make and pkg-config; so does sdk/template.
. "$(dirname "$0")/lib.sh"

e2e_setup --no-redis
e2e_require "$JOBRT_BUILD_DIR/CMakeCache.txt" "the build directory"
for tool in cmake make cc pkg-config nm; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done

run_cmd cmake --install "$JOBRT_BUILD_DIR" --prefix "$E2E_WORK/installed"
assert_eq 0 "$RC" "cmake --install ($ERR)"
# Moved after the install: nothing may point back at the install prefix.
mkdir -p "$E2E_WORK/moved"
mv "$E2E_WORK/installed" "$E2E_WORK/moved/prefix"
P="$E2E_WORK/moved/prefix"
for f in bin/jobrt include/jobrt/plugin.h share/cmake/jobrt/jobrt-config.cmake \
    share/cmake/jobrt/jobrt-config-version.cmake \
    share/cmake/jobrt/jobrt-plugin.cmake share/cmake/jobrt/jobrt-build-id.cmake \
    share/pkgconfig/jobrt-plugin.pc share/jobrt/jobrt-plugin.map \
    lib/systemd/system/jobrt@.service share/man/man1/jobrt.1 \
    share/man/man1/jobrt-run.1 share/bash-completion/completions/jobrt; do
    [ -f "$P/$f" ] || fail "cmake --install did not install $f"
done
if grep -rl "$E2E_WORK/installed" "$P/share" "$P/include"; then
    fail "installed SDK files name the prefix they were installed to"
fi
grep -q "^ExecStart=$E2E_WORK/installed/bin/jobrt run " \
    "$P/lib/systemd/system/jobrt@.service" ||
    fail "the installed unit's ExecStart is not the installed binary"

# The versions agree: jobrt version, the header, the .pc file, the package.
run_cmd "$P/bin/jobrt" version
assert_eq 0 "$RC" "jobrt version"
sdk=$(sed -n 's/^#define JOBRT_SDK_VERSION "\(.*\)"$/\1/p' "$P/include/jobrt/plugin.h")
assert_contains "$OUT" "plugin SDK $sdk (builds plugins for ABI ${sdk%.*})" \
    "jobrt version"
assert_eq "$sdk" "$(PKG_CONFIG_PATH=$P/share/pkgconfig pkg-config --modversion \
    jobrt-plugin)" "the .pc file's version"
assert_eq "-I$P/share/pkgconfig/../../include -fPIC -fvisibility=hidden" \
    "$(PKG_CONFIG_PATH=$P/share/pkgconfig pkg-config --cflags jobrt-plugin | sed "s/ *$//")" \
    "pkg-config --cflags jobrt-plugin (relative to the moved prefix)"

sdk_build_readme_plugin "$P" "$E2E_WORK/readme"

# find_package's version check: SameMajorVersion, at least the minor asked.
probe_find_package() { # VERSION: configures a project asking for it
    local d="$E2E_WORK/fp-$1"
    mkdir -p "$d"
    printf 'cmake_minimum_required(VERSION 3.18)\nproject(p C)\n%s\n%s\n' \
        "find_package(jobrt $1 REQUIRED)" \
        'message(STATUS "sdk=${JOBRT_SDK_VERSION} exe=${JOBRT_EXECUTABLE}")' \
        >"$d/CMakeLists.txt"
    run_cmd env CMAKE_PREFIX_PATH="$P" cmake -S "$d" -B "$d/build"
}
probe_find_package "${sdk%.*}"
assert_eq 0 "$RC" "find_package(jobrt ${sdk%.*}) ($ERR)"
assert_contains "$OUT" "sdk=$sdk exe=$P/bin/jobrt" "the package's variables"
probe_find_package 1.0
assert_eq 0 "$RC" "find_package(jobrt 1.0) ($ERR)"
probe_find_package 1.99
assert_ne 0 "$RC" "find_package(jobrt 1.99) must fail"
assert_contains "$ERR" "1.99" "find_package(jobrt 1.99)'s error"
probe_find_package 2.0
assert_ne 0 "$RC" "find_package(jobrt 2.0) must fail"

# -z defs: an unresolved symbol fails the link, not the worker's dlopen.
mkdir -p "$E2E_WORK/undef"
readme_block CMakeLists.txt >"$E2E_WORK/undef/CMakeLists.txt"
{ readme_block greeter.c; echo 'void missing_fn(void); void f(void) { missing_fn(); }'; } \
    >"$E2E_WORK/undef/greeter.c"
run_cmd env CMAKE_PREFIX_PATH="$P" bash -c "cmake -S '$E2E_WORK/undef' \
    -B '$E2E_WORK/undef/build' && cmake --build '$E2E_WORK/undef/build'"
assert_ne 0 "$RC" "a plugin with an undefined symbol must not link"
assert_contains "$OUT$ERR" "missing_fn" "the link error"
# ... with the README's Makefile and pkg-config too.
readme_block Makefile >"$E2E_WORK/undef/Makefile"
run_cmd env PKG_CONFIG_PATH="$P/share/pkgconfig" make -C "$E2E_WORK/undef"
assert_ne 0 "$RC" "make: a plugin with an undefined symbol must not link"
assert_contains "$OUT$ERR" "missing_fn" "make's link error"

# A C++ plugin (examples/cpp-report) built with g++ and pkg-config alone:
# the .pc's cxxflags and cxxlibs keep its exports to the descriptor.
if command -v g++ >/dev/null; then
    pc() { PKG_CONFIG_PATH="$P/share/pkgconfig" pkg-config "$@" jobrt-plugin; }
    mkdir -p "$E2E_WORK/cxx"
    # shellcheck disable=SC2046 # the flags are words
    run_cmd g++ -std=c++17 -O2 -Wall -Wextra -Werror $(pc --cflags) \
        $(pc --variable=cxxflags) -o "$E2E_WORK/cxx/report_render.so" \
        "$JOBRT_SOURCE_DIR/examples/cpp-report/report_render.cpp" \
        $(pc --libs) $(pc --variable=cxxlibs) -lcjson
    assert_eq 0 "$RC" "g++ with pkg-config on examples/cpp-report ($ERR)"
    assert_eq "jobrt_plugin" "$(nm -D --defined-only "$E2E_WORK/cxx/report_render.so" |
        awk '{print $3}' | tr '\n' ' ' | sed 's/ $//')" \
        "symbols the C++ plugin exports"
    run_cmd "$P/bin/jobrt" plugins --plugin-dir "$E2E_WORK/cxx"
    assert_eq 0 "$RC" "jobrt plugins on the C++ plugin ($OUT $ERR)"
    assert_contains "$OUT" "report_render v1" "jobrt plugins on the C++ plugin"
else
    log "no g++: the C++ plugin build against pkg-config is not tried"
fi

# Each example is a plugin project of its own that builds against the
# installed SDK alone, as its README says.
for ex in invoice-email:v1/invoice_email.so:invoice_email \
    cpp-report:report_render.so:report_render; do
    IFS=: read -r name so serves <<<"$ex"
    cp -r "$JOBRT_SOURCE_DIR/examples/$name" "$E2E_WORK/ex-$name"
    run_cmd env CMAKE_PREFIX_PATH="$P" bash -c "cd '$E2E_WORK/ex-$name' &&
        cmake -S . -B build && cmake --build build"
    assert_eq 0 "$RC" "examples/$name against the installed SDK ($OUT $ERR)"
    run_cmd "$P/bin/jobrt" plugins --plugin-dir "$(dirname "$E2E_WORK/ex-$name/build/$so")"
    assert_eq 0 "$RC" "jobrt plugins on examples/$name ($OUT $ERR)"
    assert_contains "$OUT" "$serves v1" "jobrt plugins on examples/$name"
done

# sdk/template builds both ways and serves my_job v1, stamped.
for how in cmake make; do
    cp -r "$JOBRT_SOURCE_DIR/sdk/template" "$E2E_WORK/tpl-$how"
    if [ "$how" = cmake ]; then
        run_cmd env CMAKE_PREFIX_PATH="$P" bash -c "cd '$E2E_WORK/tpl-$how' &&
            cmake -S . -B build && cmake --build build"
        dir="$E2E_WORK/tpl-$how/build"
    else
        run_cmd env PKG_CONFIG_PATH="$P/share/pkgconfig" make -C "$E2E_WORK/tpl-$how"
        dir="$E2E_WORK/tpl-$how"
    fi
    assert_eq 0 "$RC" "sdk/template with $how ($OUT $ERR)"
    run_cmd "$P/bin/jobrt" plugins --plugin-dir "$dir"
    assert_eq 0 "$RC" "jobrt plugins on the template ($how, $OUT $ERR)"
    assert_contains "$OUT" "plugin my-job 0.1.0 (ABI 1.2, build src-" \
        "jobrt plugins on the template ($how)"
done
pass
