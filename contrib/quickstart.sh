#!/bin/sh
# Installs what is missing, builds nacre, and runs a working local demo: three
# relays on loopback (fresh keys made on first run) and a SOCKS5, SOCKS4a and
# HTTP proxy on 127.0.0.1:1080 whose connections all go through them.
# Pass --direct to run the plain proxy without relays instead.
set -eu
cd "$(dirname "$0")/.."
./contrib/install-deps.sh build
[ -x configure ] || autoreconf -fi
mkdir -p _build/run
cd _build/run
[ -f Makefile ] || ../../configure --quiet
make -j"$(nproc)" nacre >/dev/null
NACRE=$(pwd)/nacre

if [ "${1:-}" = "--direct" ]; then
	shift
	echo "nacre: SOCKS5, SOCKS4/4a and HTTP proxy on 127.0.0.1:1080, connecting directly"
	exec "$NACRE" --listen 127.0.0.1:1080 "$@"
fi

# Keys live next to the demo's config and are made once (0600, as nacre demands).
DEMO=$(pwd)/demo
mkdir -p "$DEMO"
chmod 700 "$DEMO"
for r in r1 r2 r3; do
	[ -f "$DEMO/$r.key" ] || "$NACRE" keygen "$DEMO/$r.key" >/dev/null 2>&1
	"$NACRE" pubkey "$DEMO/$r.key" >"$DEMO/$r.pub"
done
# r1 and r2 are middle relays: their policy names the next relay's loopback
# address explicitly (loopback is refused unless named). r3 is the exit, with
# the default policy: the public Internet, never loopback or private ranges.
cat >"$DEMO/nacre.conf" <<CONF
# Written by contrib/quickstart.sh: a whole chain in one process, for trying
# nacre out. In real use each relay runs on its own host.
relays = (
	{ name = "r1"; address = "127.0.0.1:9001"; key = "$(cat "$DEMO/r1.pub")"; },
	{ name = "r2"; address = "127.0.0.1:9002"; key = "$(cat "$DEMO/r2.pub")"; },
	{ name = "r3"; address = "127.0.0.1:9003"; key = "$(cat "$DEMO/r3.pub")"; }
);
chains = ( { name = "demo"; hops = [ "r1", "r2", "r3" ]; } );
route = "demo";
listen = ( { address = "127.0.0.1:1080"; } );
relay = (
	{ address = "127.0.0.1:9001"; key_file = "r1.key";
	  policy = ( { dest = "127.0.0.1/32"; port = 9002; action = "accept"; }, { dest = "*"; action = "reject"; } ); },
	{ address = "127.0.0.1:9002"; key_file = "r2.key";
	  policy = ( { dest = "127.0.0.1/32"; port = 9003; action = "accept"; }, { dest = "*"; action = "reject"; } ); },
	{ address = "127.0.0.1:9003"; key_file = "r3.key"; exit = true; }
);
CONF
"$NACRE" check -c "$DEMO/nacre.conf" >/dev/null

cat <<MSG

nacre is built: $NACRE
Demo chain (config: $DEMO/nacre.conf):
    you -> 127.0.0.1:1080 -> r1 127.0.0.1:9001 -> r2 127.0.0.1:9002 -> r3 127.0.0.1:9003 (exit) -> the site
    r1 $(cat "$DEMO/r1.pub")
    r2 $(cat "$DEMO/r2.pub")
    r3 $(cat "$DEMO/r3.pub")
Every connection is encrypted once per relay; names are resolved by r3.
Try, from another terminal:
    curl --socks5-hostname 127.0.0.1:1080 https://example.com/
    curl -x http://127.0.0.1:1080 http://example.com/
    curl -p -x http://127.0.0.1:1080 https://example.com/
    git config --global http.proxy socks5h://127.0.0.1:1080
Stop it with Ctrl-C. '$0 --direct' runs the plain proxy without relays;
'make install' (in $(pwd)) installs nacre with its man pages.

MSG
exec "$NACRE" -c "$DEMO/nacre.conf" "$@"
