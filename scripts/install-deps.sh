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
  libgtest-dev libgmock-dev libbenchmark-dev libabsl-dev
  libxxhash-dev libsqlite3-dev libvalijson-dev rapidjson-dev libcli11-dev libspdlog-dev
  json-schema-test-suite
  python3-dev pybind11-dev
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

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (or install these packages yourself): ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
