#!/bin/bash
# The config file: `nacre check -c FILE` accepts a good file and rejects each
# kind of mistake with "FILE:LINE: message" at the right line; `nacre version`;
# and a daemon started with -c serves what the file says (listeners, users,
# protocols, allow, resolver, rules).
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python

# ---- version
VERSION=$(sed -nE 's/^AC_INIT\(\[nacre\], *\[([^]]+)\].*/\1/p' "$top_srcdir/configure.ac")
out=$(timeout 10 "$NACRE" version 2>&1)
rc=$?
expect_eq "nacre version exits 0" 0 "$rc"
check "nacre version prints $VERSION (from configure.ac): '$out'" \
	grep -qF -- "$VERSION" <<<"$out"

# ---- a good config; each bad one below is this file with one line replaced.
start_helper dns dnsd.py --count-file "$T/dns.count" good.test=127.0.0.1
DNS=$HELPER_PORT
printf 'alice:wonderland\n' >"$T/users"
chmod 600 "$T/users"
cat >"$T/good.conf" <<EOF
# nacre.conf for config.sh
log_level = "info";
log_target = "stderr";
timeouts = { handshake = 10.0; connect = 10.0; idle = 300.0; drain = 10.0; };
limits = { connections = 4096; per_client = 256; };
resolver = { servers = [ "127.0.0.1:$DNS" ]; };
listen = (
	{ address = "127.0.0.1:0"; protocols = [ "socks5", "socks4", "http" ]; allow = [ "127.0.0.0/8", "::1/128" ]; users = "$T/users"; },
	{ address = "[::1]:0"; protocols = [ "socks5" ]; }
);
rules = (
	{ dest = "10.0.0.0/8"; action = "block"; },
	{ dest = ".example.com"; action = "block"; },
	{ port = 25; action = "block"; },
	{ dest = "192.0.2.7"; port = 80; action = "direct"; }
);
EOF

timeout 10 "$NACRE" check -c "$T/good.conf" >"$T/check-good.out" 2>&1
expect_eq "nacre check accepts the good config" 0 "$?"

# bad NAME LINE TEXT: writes $T/NAME.conf = good.conf with line LINE replaced
# by TEXT, runs `nacre check` on it, and expects a non-zero exit and a
# "FILE:LINE: message" line.
bad() {
	local name=$1 line=$2 text=$3 f="$T/$1.conf" rc
	awk -v n="$line" -v t="$text" 'NR == n { print t; next } { print }' "$T/good.conf" >"$f"
	timeout 10 "$NACRE" check -c "$f" >"$T/$name.out" 2>&1
	rc=$?
	check "check rejects $name (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	if grep -qF "$f:$line: " "$T/$name.out"; then
		pass "check reports $name at $f:$line"
	else
		fail "check reports $name at $f:$line; it printed: $(head -c 300 "$T/$name.out")"
	fi
}

bad syntax-error 5 'limits = { connections = 4096; per_client = ; };'
bad unknown-setting 3 'log_colour = "blue";'
bad unknown-setting-in-group 4 'timeouts = { handshake = 10.0; coffee = 1.0; };'
bad bad-listen-address 9 '	{ address = "[::1]:99999"; protocols = [ "socks5" ]; }'
bad bad-listen-address-ip 9 '	{ address = "127.0.0.256:1080"; protocols = [ "socks5" ]; }'
bad bad-cidr-in-rule 12 '	{ dest = "10.0.0.0/33"; action = "block"; },'
bad bad-cidr-in-allow 8 "	{ address = \"127.0.0.1:0\"; allow = [ \"127.0.0.0/8\", \"::1/129\" ]; users = \"$T/users\"; },"
bad unknown-action 14 '	{ port = 25; action = "explode"; },'
bad negative-timeout 4 'timeouts = { handshake = 10.0; connect = -1.0; };'
bad unreadable-users-file 8 "	{ address = \"127.0.0.1:0\"; users = \"$T/no-such-dir/users\"; },"
bad unknown-protocol 9 '	{ address = "[::1]:0"; protocols = [ "gopher" ]; }'
bad unknown-log-level 2 'log_level = "loud";'

timeout 10 "$NACRE" check -c "$T/absent.conf" >"$T/absent.out" 2>&1
rc=$?
check "check rejects a config file that does not exist (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "check names the missing file" grep -qF "$T/absent.conf" "$T/absent.out"

# ---- a daemon started with -c serves what the file says
start_nginx
echo "config-sh-$$" >"$T/www/hello.txt"
NG=$NGINX_PORT
start_nacre nacre -c "$T/good.conf"
P4=$(nacre_port_for nacre '127\.0\.0\.1')
P6=$(nacre_port_for nacre '\[::1\]')
check "the log names both listeners ($P4, $P6)" test -n "$P4" -a -n "$P6"

fetch() { timeout 20 curl -sS --max-time 15 "$@" 2>>"$T/curl.err"; }
expect_eq "127.0.0.1 listener: curl socks5 with the users file's credentials" "config-sh-$$" \
	"$(fetch -x "socks5h://alice:wonderland@127.0.0.1:$P4" "http://127.0.0.1:$NG/hello.txt")"
check "127.0.0.1 listener: curl socks5 without credentials fails" \
	bash -c "! timeout 20 curl -s --max-time 15 -o /dev/null -x 'socks5h://127.0.0.1:$P4' 'http://127.0.0.1:$NG/hello.txt'"
expect_eq "127.0.0.1 listener: curl via HTTP proxy with credentials" "config-sh-$$" \
	"$(fetch -x "http://alice:wonderland@127.0.0.1:$P4" "http://127.0.0.1:$NG/hello.txt")"
expect_eq "[::1] listener: curl socks5 without credentials" "config-sh-$$" \
	"$(fetch -x "socks5h://[::1]:$P6" "http://127.0.0.1:$NG/hello.txt")"
expect_eq "[::1] listener: good.test resolved through the config's resolver" "config-sh-$$" \
	"$(fetch -x "socks5h://[::1]:$P6" "http://good.test:$NG/hello.txt")"
check "the config's resolver (dnsd) was asked for good.test" grep -q '^query good\.test ' "$T/dns.log"
check "dnsd counted the queries ($(cat "$T/dns.count" 2>/dev/null))" test "$(cat "$T/dns.count" 2>/dev/null || echo 0)" -ge 1
check "[::1] listener has protocols = [socks5]: an HTTP proxy request fails" \
	bash -c "! timeout 20 curl -sf --max-time 15 -o /dev/null -x 'http://[::1]:$P6' 'http://127.0.0.1:$NG/hello.txt'"
expect_eq "the config's rules apply: .example.com is blocked (0x02)" "rep=02 close=eof" \
	"$(py socks5 --proxy "[::1]:$P6" --dest www.example.com:80)"

# ---- allow: a listener that admits only 127.0.0.2
cat >"$T/allow.conf" <<EOF
listen = ( { address = "127.0.0.1:0"; allow = [ "127.0.0.2/32" ]; } );
EOF
start_helper echo errlib.py echo-server
ECHO=$HELPER_PORT
start_nacre allow -c "$T/allow.conf"
PA=$NACRE_PORT
expect_eq "allow: a client from 127.0.0.2 is served" "rep=00 echo=ok" \
	"$(py socks5 --proxy 127.0.0.1:$PA --src 127.0.0.2 --dest 127.0.0.1:$ECHO --echo)"
res=$(py socks5 --proxy 127.0.0.1:$PA --dest 127.0.0.1:$ECHO --echo)
check "allow: a client from 127.0.0.1 is turned away ($res)" test "$res" != "rep=00 echo=ok"

# ---- the example config shipped in contrib/ stays valid
out=$(timeout 10 "$NACRE" check -c "$top_srcdir/contrib/nacre.conf.example" 2>&1)
expect_eq "contrib/nacre.conf.example passes nacre check" \
	"$top_srcdir/contrib/nacre.conf.example: OK" "$out"

finish
