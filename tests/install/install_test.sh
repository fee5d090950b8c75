#!/usr/bin/env bash
# The installed SDK as its users see it. Each run installs the build into a fresh temporary
# prefix, moves that prefix elsewhere (the install must be relocatable), keeps a live arena of
# examples/registry.json with arena_fixture, and checks one way of using it:
#   install_test.sh layout     what is installed where, and nothing more; the programs run
#   install_test.sh pkgconfig  a C program built with $(pkg-config --cflags --libs roster)
#   install_test.sh cmake      tests/install/consumer, a separate CMake project using
#                              find_package(roster): roster::client (C++) and roster::c (C)
#   install_test.sh python     the module imports from ROSTER_PYTHON_INSTALL_DIR under the prefix
# ctest passes the build's facts in the environment (tests/CMakeLists.txt). Everything made here
# (the prefix, the arena's /dev/shm segments) is removed on exit, whatever the outcome.
set -euo pipefail

mode=${1:?usage: install_test.sh layout|pkgconfig|cmake|python}
for v in ROSTER_BUILD_DIR ROSTER_SOURCE_DIR ROSTER_FIXTURE ROSTER_REGISTRY ROSTER_CMAKE CC CXX; do
  [ -n "${!v:-}" ] || { echo "install_test: $v is not set (run through ctest)" >&2; exit 2; }
done
# ROSTER_BINDIR, _LIBDIR, _INCLUDEDIR, _CMAKE_INSTALL_DIR, ROSTER_PYTHON(_INSTALL_DIR): the
# install layout, as cmake/RosterInstall.cmake configured it.
# shellcheck source=/dev/null
. "$ROSTER_BUILD_DIR/sdk-layout.env"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/roster-install-$mode.XXXXXX")
arena="install-$mode-$$-$RANDOM"
fixture_pid=""

cleanup() {
  local rc=$?
  if [ -n "$fixture_pid" ] && kill -0 "$fixture_pid" 2>/dev/null; then
    kill "$fixture_pid" 2>/dev/null || true
    wait "$fixture_pid" 2>/dev/null || true
  fi
  rm -f /dev/shm/roster."$arena".*
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "install_test($mode): FAILED: $*" >&2
  exit 1
}
say() { echo "install_test($mode): $*"; }

# Installs into a staging prefix, then moves it: a path baked in at install time would break.
"$ROSTER_CMAKE" --install "$ROSTER_BUILD_DIR" --prefix "$tmp/staging" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "cmake --install failed"; }
mv "$tmp/staging" "$tmp/prefix"
prefix=$tmp/prefix
libdir=$prefix/$ROSTER_LIBDIR

start_arena() {
  coproc FIXTURE { exec "$ROSTER_FIXTURE" "$arena" "$ROSTER_REGISTRY"; }
  fixture_pid=$FIXTURE_PID
  exec {fixture_in}>&"${FIXTURE[1]}" {fixture_out}<&"${FIXTURE[0]}"
  local reply=""
  read -r -t 30 reply <&"$fixture_out" || fail "arena_fixture did not start"
  [[ $reply == ok* ]] || fail "arena_fixture: $reply"
  [ -e "/dev/shm/roster.$arena.data" ] || fail "no /dev/shm/roster.$arena.data after arena_fixture started"
  say "arena $arena is live ($reply)"
}

stop_arena() {
  echo quit >&"$fixture_in"
  local rc=0
  wait "$fixture_pid" || rc=$?
  fixture_pid=""
  [ "$rc" -eq 0 ] || fail "arena_fixture exited with status $rc"
}

# The shared library a program loads must be the installed one.
expect_loads_from_prefix() {
  local where
  where=$(ldd "$1" | awk '$1 ~ /^libroster\.so/ {print $3}')
  [ -n "$where" ] || fail "$1 does not load libroster.so"
  [[ $(realpath "$where") == "$(realpath "$libdir")"/* ]] || fail "$1 loads $where, not the installed libroster.so"
}

case $mode in
layout)
  # Headers: what roster.h and roster/client.hpp need, nothing else.
  expected_headers="roster/base/result.hpp
roster/client.hpp
roster/detail/layout.hpp
roster/roster.h
roster/wire/names.hpp
roster/wire/roster_generated.h"
  headers=$(cd "$prefix/$ROSTER_INCLUDEDIR" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
  [ "$headers" = "$expected_headers" ] || fail "installed headers differ from the SDK's: $(echo $headers)"

  # Libraries: the C ABI with its soname links, the static client and its segment code.
  [ "$(readlink "$libdir/libroster.so")" = libroster.so.0 ] || fail "libroster.so is not a link to libroster.so.0"
  [ -f "$(realpath "$libdir/libroster.so.0")" ] || fail "libroster.so.0 is dangling"
  readelf -d "$libdir/libroster.so.0" | grep -q 'SONAME.*\[libroster\.so\.0\]' || fail "libroster.so's soname is not libroster.so.0"
  archives=$(cd "$libdir" && ls -- *.a | LC_ALL=C sort | tr '\n' ' ')
  [ "$archives" = "libroster_client.a libroster_shm_segment.a " ] || fail "installed archives: $archives"
  for a in "$libdir"/*.a; do
    # The client uses xxhash inlined and Boost header-only: nothing left for a consumer to link.
    if nm --undefined-only "$a" | grep -E ' (XXH|_ZN5boost)' | head -3 | grep .; then
      fail "$(basename "$a") needs xxhash or Boost symbols"
    fi
  done

  # The CMake package and the pkg-config file.
  for f in rosterConfig.cmake rosterConfigVersion.cmake rosterTargets.cmake; do
    [ -f "$prefix/$ROSTER_CMAKE_INSTALL_DIR/$f" ] || fail "no $ROSTER_CMAKE_INSTALL_DIR/$f"
  done
  targets=$(cat "$prefix/$ROSTER_CMAKE_INSTALL_DIR"/rosterTargets*.cmake)
  grep -q 'add_library(roster::client STATIC IMPORTED)' <<<"$targets" || fail "roster::client is not exported"
  grep -q 'add_library(roster::c SHARED IMPORTED)' <<<"$targets" || fail "roster::c is not exported"
  if grep -nE 'PkgConfig::|Boost::|roster_(net|log|model|governance|wire_json|shm_writer|store|registry|agent)' \
       <<<"$targets"; then
    fail "the exported targets name build-only or server-side targets"
  fi
  grep -q 'find_dependency(FlatBuffers [0-9.]* EXACT' "$prefix/$ROSTER_CMAKE_INSTALL_DIR/rosterConfig.cmake" ||
    fail "rosterConfig.cmake does not ask for the exact FlatBuffers version"
  grep -qx 'prefix=${pcfiledir}/[./]*' "$libdir/pkgconfig/roster.pc" || fail "roster.pc's prefix is not relative to the file"

  # Relocatable: nothing installed names the prefix it was installed to.
  if grep -rl -- "$tmp/staging" "$prefix"; then fail "these files name the install-time prefix"; fi

  # The programs are there and run (without the build tree's libraries).
  for p in roster-server roster-agent rosterctl; do
    [ -x "$prefix/$ROSTER_BINDIR/$p" ] || fail "no $ROSTER_BINDIR/$p"
    "$prefix/$ROSTER_BINDIR/$p" --help >/dev/null || fail "$p --help failed"
  done
  max=$("$prefix/$ROSTER_BINDIR/rosterctl" semver max '^2.0.0' 1.0.0 2.0.0 2.1.0 3.0.0)
  [ "$max" = 2.1.0 ] || fail "installed rosterctl semver max said $max"
  if [ -n "${ROSTER_PYTHON_INSTALL_DIR:-}" ]; then
    ls "$prefix/$ROSTER_PYTHON_INSTALL_DIR"/roster.*.so >/dev/null || fail "no Python module in $ROSTER_PYTHON_INSTALL_DIR"
    for stub in roster.pyi roster-stubs/__init__.pyi; do
      cmp -s "$ROSTER_SOURCE_DIR/bindings/python/roster.pyi" "$prefix/$ROSTER_PYTHON_INSTALL_DIR/$stub" ||
        fail "$ROSTER_PYTHON_INSTALL_DIR/$stub is not bindings/python/roster.pyi"
    done
  fi
  say "ok: $(cd "$prefix" && find . -type f | wc -l) files, relocatable"
  ;;

pkgconfig)
  export PKG_CONFIG_PATH=$libdir/pkgconfig
  [ "$(realpath "$(pkg-config --variable=prefix roster)")" = "$(realpath "$prefix")" ] ||
    fail "pkg-config resolves roster's prefix to $(pkg-config --variable=prefix roster), not $prefix"
  # shellcheck disable=SC2046  # pkg-config's output is meant to be split into arguments
  "$CC" -std=c11 -Wall -Wextra -Werror -o "$tmp/c_consumer" "$ROSTER_SOURCE_DIR/tests/install/c_consumer.c" \
    $(pkg-config --cflags --libs roster) -Wl,-rpath,"$(pkg-config --variable=libdir roster)" ||
    fail "cc \$(pkg-config --cflags --libs roster) failed"
  expect_loads_from_prefix "$tmp/c_consumer"
  start_arena
  "$tmp/c_consumer" "$arena" || fail "c_consumer failed against the live arena"
  stop_arena
  say "ok"
  ;;

cmake)
  generator=()
  [ -n "${ROSTER_GENERATOR:-}" ] && generator=(-G "$ROSTER_GENERATOR")
  [ -n "${ROSTER_MAKE_PROGRAM:-}" ] && generator+=(-DCMAKE_MAKE_PROGRAM="$ROSTER_MAKE_PROGRAM")
  "$ROSTER_CMAKE" -S "$ROSTER_SOURCE_DIR/tests/install/consumer" -B "$tmp/consumer" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_PREFIX_PATH="$prefix" -DROSTER_EXPECTED_PREFIX="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
    >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; fail "configuring the consumer project failed"; }
  "$ROSTER_CMAKE" --build "$tmp/consumer" --parallel 2 >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log"; fail "building the consumer project failed"; }
  expect_loads_from_prefix "$tmp/consumer/c_consumer"
  start_arena
  "$tmp/consumer/client_consumer" "$arena" || fail "client_consumer (roster::client) failed against the live arena"
  "$tmp/consumer/c_consumer" "$arena" || fail "c_consumer (roster::c) failed against the live arena"
  stop_arena
  say "ok"
  ;;

python)
  [ -n "${ROSTER_PYTHON:-}" ] && [ -n "${ROSTER_PYTHON_INSTALL_DIR:-}" ] || fail "ROSTER_PYTHON(_INSTALL_DIR) not set"
  # With the default prefix (the interpreter's own, /usr/local for Debian's python3), the
  # directory is one the interpreter searches.
  "$ROSTER_PYTHON" - "$ROSTER_PYTHON_INSTALL_DIR" <<'EOF' || fail "ROSTER_PYTHON_INSTALL_DIR is not on the interpreter's path"
import os, site, sys, sysconfig
where = os.path.join(sysconfig.get_path("data"), sys.argv[1])
print(f"install_test(python): {sysconfig.get_path('data')} + {sys.argv[1]} is a site directory of {sys.executable}")
sys.exit(0 if where in site.getsitepackages() else 1)
EOF
  start_arena
  (cd "$tmp" && env -u PYTHONHOME PYTHONPATH="$prefix/$ROSTER_PYTHON_INSTALL_DIR" "$ROSTER_PYTHON" -s - "$arena" "$prefix" <<'EOF') ||
import os, sys
import roster
arena, prefix = sys.argv[1], os.path.realpath(sys.argv[2])
assert os.path.realpath(roster.__file__).startswith(prefix + os.sep), roster.__file__
with roster.open(arena).view() as view:
    svc = view.service("user-service")
    assert (svc.version, svc.owner_team, svc.stage) == ("2.1.0", "identity-team", "stable"), svc
    healthy = view.instances("user-service", healthy=True)
    assert healthy and all(i.health == "up" and i.port > 0 for i in healthy), healthy
    assert view.service("no-such-service") is None
    assert "user-service" in view.services(), view.services()
stub = os.path.join(os.path.dirname(roster.__file__), "roster.pyi")
assert os.path.isfile(stub) and os.path.isfile(os.path.join(os.path.dirname(stub), "roster-stubs", "__init__.pyi")), stub
print(f"install_test(python): imported {os.path.basename(roster.__file__)} from the prefix, "
      f"user-service@{svc.version}, {len(healthy)} healthy instances")
EOF
    fail "the installed module did not read the arena"
  stop_arena
  say "ok"
  ;;

*)
  fail "unknown mode $mode"
  ;;
esac
