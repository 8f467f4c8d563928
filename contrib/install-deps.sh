#!/bin/sh
# Installs the Debian 12 packages nacre needs, only those missing.
#   contrib/install-deps.sh build   what building and running needs
#   contrib/install-deps.sh test    that, plus what the test suite drives
set -eu

build="gcc make autoconf automake libtool pkg-config libev-dev libsodium-dev libc-ares-dev libconfig-dev"
# curl and nginx are the real client and origin of the integration tests; python3
# runs the small test servers; iproute2 makes network namespaces; clang builds
# the libFuzzer targets, with its sanitizer and fuzzer runtimes from
# libclang-rt-14-dev (Debian's clang does not pull them in); procps gives ps to
# the tests.
test="$build libcmocka-dev curl nginx-light python3 iproute2 clang libclang-rt-14-dev procps"

case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null; then
	sudo="sudo"
else
	echo "install these Debian packages as root:$missing" >&2
	exit 1
fi
echo "installing:$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
