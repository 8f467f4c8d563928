#!/bin/sh
# Installs what is missing, builds nacre, and runs it with a working default:
# SOCKS5, SOCKS4/4a and HTTP proxy on 127.0.0.1:1080, connecting directly.
set -eu
cd "$(dirname "$0")/.."
./contrib/install-deps.sh build
[ -x configure ] || autoreconf -fi
mkdir -p _build/run
cd _build/run
[ -f Makefile ] || ../../configure --quiet
make -j"$(nproc)" nacre >/dev/null
cat <<MSG

nacre is built: $(pwd)/nacre
It now serves SOCKS5, SOCKS4/4a and HTTP proxy requests on 127.0.0.1:1080.
Try, from another terminal:
    curl --socks5-hostname 127.0.0.1:1080 http://example.com/
    curl -x http://127.0.0.1:1080 http://example.com/
    git config --global http.proxy socks5h://127.0.0.1:1080
Stop it with Ctrl-C. 'make install' (in $(pwd)) installs it with its man pages.

MSG
exec ./nacre --listen 127.0.0.1:1080 "$@"
