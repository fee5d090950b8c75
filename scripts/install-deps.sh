#!/usr/bin/env bash
# Installs exactly the Debian 12 packages roster's build, tests and benchmarks need.
# Idempotent: apt-get runs only when a package is missing.
#   scripts/install-deps.sh          the build, the tests and the benchmarks
#   scripts/install-deps.sh fuzz     also clang 14 with libFuzzer and llvm-symbolizer (`make fuzz`)
set -euo pipefail

packages=(
  cmake ninja-build g++ make pkg-config python3
  libboost-dev liburing-dev libsimdjson-dev
  libflatbuffers-dev flatbuffers-compiler
  libgtest-dev libbenchmark-dev libabsl-dev
  libxxhash-dev libsqlite3-dev rapidjson-dev libcli11-dev libspdlog-dev
  json-schema-test-suite
  python3-dev pybind11-dev python3-yaml
  # tests/integration: responses checked against docs/openapi.json; a stream client's payloads
  python3-jsonschema python3-flatbuffers
  # bench/plot.py (`make plots`, and its test in `make test`).
  python3-matplotlib
  # promtool (Prometheus' own lint of both daemons' /metrics, tests/integration); nothing is run
  # from it but promtool.
  prometheus
  # The etcd store: gRPC and protobuf, etcd's v3 API .proto files and the ones they import
  # (gogoproto, google/api), and etcd itself with etcdctl for the tests and `make demo-ha`.
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  golang-etcd-server-dev golang-github-gogo-protobuf-dev golang-github-grpc-ecosystem-grpc-gateway-dev
  etcd-server etcd-client
)
for extra in "$@"; do
  case "$extra" in
    # clang-14: the compiler; libclang-rt-14-dev: libFuzzer and the sanitizer runtimes;
    # llvm-14: llvm-symbolizer, for readable stacks in sanitizer reports.
    fuzz) packages+=(clang-14 libclang-rt-14-dev llvm-14) ;;
    *) echo "install-deps: unknown extra \"$extra\" (known: fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# valijson is header-only, and roster uses its RapidJSON adapter alone; its Debian package depends
# on Qt 5, Poco, yaml-cpp and more (~330 MB) for the other adapters. So its headers are unpacked
# from the package into .deps/valijson (governance/CMakeLists.txt looks there first); a system
# copy (libvalijson-dev installed by hand) serves as well.
valijson_dir="$(cd "$(dirname "$0")/.." && pwd)/.deps/valijson"
need_valijson=true
for header in "$valijson_dir/usr/include/valijson/validator.hpp" /usr/include/valijson/validator.hpp; do
  [ -f "$header" ] && need_valijson=false
done

if [ ${#missing[@]} -eq 0 ] && ! $need_valijson; then
  exit 0
fi

wanted="${missing[*]}"
$need_valijson && wanted="$wanted libvalijson-dev (headers only)"
echo "install-deps: installing ${wanted# }"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (or install these packages yourself): ${wanted# }" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Only promtool is wanted from the prometheus package: stop the server its install may start.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi
if $need_valijson; then
  download=$(mktemp -d)
  trap 'rm -rf "$download"' EXIT
  chown _apt "$download" 2>/dev/null || true  # apt's download sandbox writes there as _apt
  (cd "$download" && apt-get download -qq libvalijson-dev)
  mkdir -p "$(dirname "$valijson_dir")"
  rm -rf "$valijson_dir.new"
  dpkg-deb -x "$download"/libvalijson-dev_*.deb "$valijson_dir.new"
  rm -rf "$valijson_dir"
  mv "$valijson_dir.new" "$valijson_dir"
fi
