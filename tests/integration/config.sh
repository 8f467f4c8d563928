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

# A relative users file is found beside the config, as a relative key_file
# is, whatever the daemon's working directory.
printf 'listen = ( { address = "127.0.0.1:0"; users = "users"; } );\n' >"$T/relative.conf"
expect_eq "a relative users file is read from the config's directory" "$T/relative.conf: OK" \
	"$(cd / && timeout 10 "$NACRE" check -c "$T/relative.conf" 2>&1)"

# bad_in BASE NAME LINE TEXT [WANT]: writes $T/NAME.conf = $T/BASE.conf with
# line LINE replaced by TEXT, runs `nacre check` on it, and expects a non-zero
# exit and a "FILE:LINE: message" line (containing WANT, if given).
# bad NAME LINE TEXT does it to good.conf.
bad_in() {
	local base=$1 name=$2 line=$3 text=$4 want=${5:-} f="$T/$2.conf" rc
	awk -v n="$line" -v t="$text" 'NR == n { print t; next } { print }' "$T/$base.conf" >"$f"
	timeout 10 "$NACRE" check -c "$f" >"$T/$name.out" 2>&1
	rc=$?
	check "check rejects $name (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	if grep -qF "$f:$line: " "$T/$name.out"; then
		pass "check reports $name at $f:$line"
	else
		fail "check reports $name at $f:$line; it printed: $(head -c 300 "$T/$name.out")"
	fi
	if [ -n "$want" ]; then
		check "check says '$want' for $name" grep -qF -- "$want" "$T/$name.out"
	fi
}
bad() { bad_in good "$@"; }

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
# Two entries on one port: with workers > 1 both would bind (SO_REUSEPORT) and
# the kernel would split the port's clients between them, the one with users
# and the one without; with one worker the daemon would fail only at start.
bad same-listen-twice 9 '	{ address = "127.0.0.1:41080"; }, { address = "127.0.0.1:41080"; }' \
	"the same port is already taken"
bad listen-under-wildcard 9 '	{ address = "0.0.0.0:41080"; }, { address = "127.0.0.1:41080"; }' \
	"the same port is already taken"
cat >"$T/two-families.conf" <<EOF
listen = ( { address = "0.0.0.0:41080"; }, { address = "[::]:41080"; },
	{ address = "127.0.0.1:0"; }, { address = "127.0.0.1:0"; } );
EOF
expect_eq "one port for each family, and two ports the kernel picks, are no conflict" \
	"$T/two-families.conf: OK" "$(timeout 10 "$NACRE" check -c "$T/two-families.conf" 2>&1)"
printf 'listen = ( { address = "127.0.0.1:41080"; } );\n' >"$T/cli-dup.conf"
out=$(timeout 10 "$NACRE" check -c "$T/cli-dup.conf" --listen 127.0.0.1:41080 2>&1)
check "check refuses --listen on a port the config already takes: $out" \
	grep -qF -- "--listen: '127.0.0.1:41080': the same port is already taken" <<<"$out"
bad splice-not-a-bool 3 'splice = "yes";' "splice: expected true or false"
# A users file that is a pipe used to hang `check` and the daemon (at start
# and on SIGHUP); one with a NUL byte cut the password short at it.
mkfifo "$T/users.fifo"
bad users-file-is-a-fifo 8 "	{ address = \"127.0.0.1:0\"; users = \"$T/users.fifo\"; }," \
	"$T/users.fifo: not a regular file"
printf 'alice:hu\0nter2\n' >"$T/users.nul"
chmod 600 "$T/users.nul"
bad users-file-with-nul 8 "	{ address = \"127.0.0.1:0\"; users = \"$T/users.nul\"; }," \
	"$T/users.nul:1: a NUL byte in the line"

timeout 10 "$NACRE" check -c "$T/absent.conf" >"$T/absent.out" 2>&1
rc=$?
check "check rejects a config file that does not exist (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "check names the missing file" grep -qF "$T/absent.conf" "$T/absent.out"

# ---- relay keys: `nacre keygen FILE` and `nacre pubkey FILE`
R1=$(cd "$T" && timeout 10 "$NACRE" keygen r1.key 2>"$T/keygen.err")
expect_eq "keygen exits 0" 0 "$?"
check "keygen prints a 44-character base64 key alone on stdout: '$R1'" \
	bash -c '[[ $1 =~ ^[A-Za-z0-9+/]{43}=$ ]]' - "$R1"
expect_eq "keygen creates the key file with mode 600" 600 "$(stat -c %a "$T/r1.key" 2>&1)"
check "keygen puts its hint on stderr" test -s "$T/keygen.err"
expect_eq "pubkey prints the key keygen printed" "$R1" "$(timeout 10 "$NACRE" pubkey "$T/r1.key" 2>&1)"
before=$(sha256_of "$T/r1.key")
timeout 10 "$NACRE" keygen "$T/r1.key" >"$T/keygen-exists.out" 2>&1
rc=$?
check "keygen refuses a file that exists (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
expect_eq "keygen leaves the existing key alone" "$before" "$(sha256_of "$T/r1.key")"
cp "$T/r1.key" "$T/open.key"
chmod 644 "$T/open.key"
timeout 10 "$NACRE" pubkey "$T/open.key" >"$T/pubkey-open.out" 2>&1
rc=$?
check "pubkey refuses a key file with mode 644 (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "pubkey says what to do about a 644 key file: $(head -c 200 "$T/pubkey-open.out")" \
	grep -qF "$T/open.key: readable by group or others; chmod 600 it" "$T/pubkey-open.out"
# A public key no one saw must not look printed; an option is not a file name.
timeout 10 "$NACRE" keygen "$T/full.key" >/dev/full 2>"$T/keygen-full.err"
rc=$?
check "keygen whose output cannot be written fails (exit $rc)" test "$rc" -eq 1
check "... and says how to print the key again: $(head -c 200 "$T/keygen-full.err")" \
	grep -qF "nacre pubkey $T/full.key" "$T/keygen-full.err"
timeout 10 "$NACRE" pubkey "$T/full.key" >/dev/full 2>/dev/null
expect_eq "pubkey whose output cannot be written fails" 1 "$?"
timeout 10 "$NACRE" keygen -v >/dev/null 2>"$T/keygen-opt.err"
expect_eq "keygen -v is refused as a usage error" 2 "$?"
check "... and writes no file named -v" test ! -e ./-v
R2=$(timeout 10 "$NACRE" keygen "$T/r2.key" 2>/dev/null)
R3=$(timeout 10 "$NACRE" keygen "$T/r3.key" 2>/dev/null)
cp "$T/r1.key" "$T/group.key"
chmod 640 "$T/group.key"

# ---- relays, chains, routes and a relay listener; key_file is relative to
# the config file's directory, so the check below runs from /.
cat >"$T/relay.conf" <<EOF
# nacre.conf with relays, for config.sh
relays = (
	{ name = "r1"; address = "127.0.0.1:9001"; key = "$R1"; },
	{ name = "r2"; address = "[::1]:9002"; key = "$R2"; },
	{ name = "r3"; address = "127.0.0.1:9003"; key = "$R3"; }
);
chains = ( { name = "demo"; hops = [ "r1", "r2", "r3" ]; }, { name = "short"; hops = [ "r3" ]; } );
route = "demo";
listen = ( { address = "127.0.0.1:0"; route = "short"; }, { address = "127.0.0.1:0"; } );
relay = ( { address = "127.0.0.1:0"; key_file = "r1.key"; exit = true; silent_close = 30;
	allow = [ "0.0.0.0/0", "::/0" ];
	policy = ( { dest = "127.0.0.0/8"; port = "1-65535"; action = "accept"; },
	           { dest = "*"; action = "reject"; } ); } );
record_cipher = "chacha20-poly1305";
EOF
out=$(cd / && timeout 10 "$NACRE" check -c "$T/relay.conf" 2>&1)
expect_eq "nacre check accepts relays, chains and a relay listener" "$T/relay.conf: OK" "$out"

bad_in relay unknown-relay-in-chain 7 'chains = ( { name = "demo"; hops = [ "r1", "r9" ]; } );' \
	"unknown relay 'r9'"
bad_in relay nine-hops 7 \
	'chains = ( { name = "demo"; hops = [ "r1", "r2", "r3", "r1", "r2", "r3", "r1", "r2", "r3" ]; } );' \
	"a chain has 1 to 8 relays"
bad_in relay empty-chain 7 'chains = ( { name = "demo"; hops = [ ]; } );' \
	"a chain has 1 to 8 relays"
bad_in relay duplicate-chain 7 \
	'chains = ( { name = "demo"; hops = [ "r1" ]; }, { name = "demo"; hops = [ "r2" ]; } );' \
	"'demo' named twice"
bad_in relay duplicate-relay 4 "	{ name = \"r1\"; address = \"[::1]:9002\"; key = \"$R2\"; }," \
	"'r1' named twice"
bad_in relay relay-name-address 3 \
	"	{ name = \"r1\"; address = \"relay1.example:9001\"; key = \"$R1\"; }," \
	"relay address must be numeric"
bad_in relay short-key 4 "	{ name = \"r2\"; address = \"[::1]:9002\"; key = \"${R2:0:40}\"; }," \
	"32-byte public key"
bad_in relay long-key 4 "	{ name = \"r2\"; address = \"[::1]:9002\"; key = \"${R2%=}AAAAA\"; }," \
	"32-byte public key"
bad_in relay unknown-record-cipher 14 'record_cipher = "rc4";' \
	"record_cipher: unknown value 'rc4' (auto, chacha20-poly1305)"
bad_in relay record-cipher-not-a-string 14 'record_cipher = 1;'
bad_in relay exit-not-a-bool 10 \
	'relay = ( { address = "127.0.0.1:0"; key_file = "r1.key"; exit = "yes"; silent_close = 30;' \
	"relay.exit: expected true or false"
bad_in relay unknown-route 8 'route = "nowhere";' "unknown chain 'nowhere'"
# A middle relay extends only to the relays its policy names (a range, not
# *): one that names none could serve no circuit, and without that rule
# anyone holding its key could use it as an exit.
printf 'listen = ();\n' >"$T/middle-base.conf"
bad_in middle-base middle-without-policy 1 \
	'listen = (); relay = ( { address = "127.0.0.1:0"; key_file = "r1.key"; exit = false; } );' \
	"a middle relay (exit = false) extends only to the relays its policy names"
bad_in middle-base middle-accepting-everything 1 \
	'listen = (); relay = ( { address = "127.0.0.1:0"; key_file = "r1.key"; policy = ( { dest = "*"; action = "accept"; } ); } );' \
	"this one names none"
printf 'listen = (); relay = ( { address = "127.0.0.1:0"; key_file = "r1.key";\n\tpolicy = ( { dest = "198.51.100.7/32"; port = 9001; action = "accept"; } ); } );\n' \
	>"$T/middle-ok.conf"
expect_eq "nacre check accepts a middle relay that names its next relay" "$T/middle-ok.conf: OK" \
	"$(timeout 10 "$NACRE" check -c "$T/middle-ok.conf" 2>&1)"
sed 's/^listen = ( { address = "127.0.0.1:0"; route/listen = ( { address = "127.0.0.1:41081"; route/' \
	"$T/relay.conf" >"$T/relay-port.conf"
bad_in relay-port relay-on-a-listen-port 10 \
	'relay = ( { address = "127.0.0.1:41081"; key_file = "r1.key"; exit = true; silent_close = 30;' \
	"relay.address: the same port is already taken"
bad_in relay unknown-listen-route 9 'listen = ( { address = "127.0.0.1:0"; route = "nowhere"; } );' \
	"unknown chain 'nowhere'"
bad_in relay relay-listener-name 10 \
	'relay = ( { address = "localhost:9001"; key_file = "r1.key"; exit = true; silent_close = 30;' \
	"relay address must be numeric"
bad_in relay key-file-0640 10 \
	'relay = ( { address = "127.0.0.1:0"; key_file = "group.key"; exit = true; silent_close = 30;' \
	"$T/group.key: readable by group or others; chmod 600 it"
bad_in relay missing-key-file 10 'relay = ( { address = "127.0.0.1:0"; key_file = "absent.key";' \
	"$T/absent.key: cannot open"
bad_in relay silent-close-zero 10 \
	'relay = ( { address = "127.0.0.1:0"; key_file = "r1.key"; silent_close = 0;' "silent_close"
bad_in relay silent-close-long 10 \
	'relay = ( { address = "127.0.0.1:0"; key_file = "r1.key"; silent_close = 601;' "silent_close"
bad_in relay policy-bad-dest 12 '	policy = ( { dest = "127.0.0.1/8"; action = "accept"; },' \
	"relay.policy.dest"
bad_in relay policy-bad-ports 12 \
	'	policy = ( { dest = "127.0.0.0/8"; port = "80-22"; action = "accept"; },' \
	"relay.policy.port"
bad_in relay policy-bad-action 12 '	policy = ( { dest = "127.0.0.0/8"; action = "allow"; },' \
	"unknown action 'allow'"

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
ALLOW_PID=$NACRE_PID
expect_eq "allow: a client from 127.0.0.2 is served" "rep=00 echo=ok" \
	"$(py socks5 --proxy 127.0.0.1:$PA --src 127.0.0.2 --dest 127.0.0.1:$ECHO --echo)"
res=$(py socks5 --proxy 127.0.0.1:$PA --dest 127.0.0.1:$ECHO --echo)
check "allow: a client from 127.0.0.1 is turned away ($res)" test "$res" != "rep=00 echo=ok"

# ---- the command line against the file
# --users without --listen: the file's listeners would run without the
# authentication asked for, so it is refused.
out=$(timeout 10 "$NACRE" check -c "$T/allow.conf" --users "$T/users" 2>&1)
rc=$?
check "--users with the file's listeners and no --listen is refused (exit $rc)" test "$rc" -eq 1
check "and says that --users applies to --listen: '$out'" grep -qF -- "--users applies to --listen" <<<"$out"
# workers > 1 needs ports: each entry is named where it was written.
out=$(timeout 10 "$NACRE" check -c "$T/allow.conf" --workers 2 2>&1)
check "--workers 2 with a file listener on port 0: reported at its line: '$out'" \
	grep -qF "$T/allow.conf:1: listen.address: '127.0.0.1:0': workers > 1" <<<"$out"
printf 'listen = ();\n' >"$T/none.conf"
expect_eq "listen = () and nothing else: refused, not the default listener" \
	"$T/none.conf: listen = () and no relay entry: nothing would be served (leave listen out for the default, 127.0.0.1:1080)" \
	"$(timeout 10 "$NACRE" check -c "$T/none.conf" 2>&1)"
out=$(timeout 10 "$NACRE" check -c "$T/none.conf" --workers 2 -l 127.0.0.1:0 2>&1)
check "--workers 2 -l 127.0.0.1:0: a command-line error, not the file's: '$out'" \
	grep -qxF "command line: --listen: '127.0.0.1:0': workers > 1: every listen and relay address needs a port (not 0)" <<<"$out"
# Settings that parse but could only misbehave: refused at their line.
refused_as() { # WHAT CONFIG-TEXT MESSAGE
	printf '%s\n' "$2" >"$T/refused.conf"
	expect_eq "$1" "$T/refused.conf:1: $3" "$(timeout 10 "$NACRE" check -c "$T/refused.conf" 2>&1)"
}
refused_as "an empty resolver list (it would fall back to the system's)" \
	'resolver = { servers = [ ]; };' \
	"resolver.servers: empty (leave resolver out to use /etc/resolv.conf)"
refused_as "a resolver on port 0" 'resolver = { servers = [ "127.0.0.1:0" ]; };' \
	"resolver: '127.0.0.1:0': port 0"
LONG="[::1]:$(printf '0%.0s' $(seq 1 63))53; junk, not an address"
refused_as "a resolver whose text, cut short, would parse" \
	"resolver = { servers = [ \"$LONG\" ]; };" \
	"resolver: '$LONG' is not an IP address or ADDRESS:PORT"
refused_as "an empty allow list (no client could connect)" \
	'listen = ( { address = "127.0.0.1:0"; allow = [ ]; } );' \
	"listen.allow: empty: no client could connect"
# Addresses that parse but that a listener can never bind: refused by check,
# not left to fail at start.
printf 'listen = ( { address = "[::ffff:127.0.0.1]:0"; } );\n' >"$T/mapped.conf"
expect_eq "a v4-mapped listen address is refused by check, at its line" \
	"$T/mapped.conf:1: listen.address: '[::ffff:127.0.0.1]:0': an IPv4-mapped address; listeners are IPv6-only: write it as IPv4" \
	"$(timeout 10 "$NACRE" check -c "$T/mapped.conf" 2>&1)"
expect_eq "... and a link-local one given with --listen" \
	"command line: --listen: '[fe80::1]:0': a link-local address needs an interface, which cannot be given" \
	"$(timeout 10 "$NACRE" check -c "$T/none.conf" -l '[fe80::1]:0' 2>&1)"
out=$(timeout 10 "$NACRE" check -c "$T/nope.conf" 2>&1)
expect_eq "a missing config file: the reason is given" \
	"$T/nope.conf: cannot open: No such file or directory" "$out"

# ---- @include: an absolute name works from any working directory, and an
# error in the included file is reported in that file, at its line.
mkdir -p "$T/inc"
printf '@include "%s"\nlisten = ( { address = "127.0.0.1:0"; } );\n' "$T/inc/part.conf" >"$T/inc/main.conf"
printf '# limits\n\nlimits = { connections = 0; };\n' >"$T/inc/part.conf"
out=$(cd / && timeout 10 "$NACRE" check -c "$T/inc/main.conf" 2>&1)
check "an error in an included file is reported at its own file and line: '$out'" \
	grep -qF "$T/inc/part.conf:3: " <<<"$out"
printf '# limits\n\nlimits = { connections = 10; };\n' >"$T/inc/part.conf"
expect_eq "an absolute @include is read whatever the cwd" \
	"$T/inc/main.conf: OK" "$(cd / && timeout 10 "$NACRE" check -c "$T/inc/main.conf" 2>&1)"
expect_eq "a config named without a directory (in the cwd), with an @include" \
	"main.conf: OK" "$(cd "$T/inc" && timeout 10 "$NACRE" check -c main.conf 2>&1)"
# A directory or a FIFO, as the config or @included at any depth, is refused
# by name and line, at once: libconfig's scanner would exit(2) inside the
# library on a directory and wait for a writer on a FIFO, at a SIGHUP with
# the whole daemon.
mkdir -p "$T/inc/adir"
mkfifo "$T/inc/afifo"
printf 'log_level = "info";\n@include "%s"\n' "$T/inc/adir" >"$T/inc/dir.conf"
printf '@include "%s"\n' "$T/inc/afifo" >"$T/inc/fifo-part.conf"
printf '\n  @include "%s"\n' "$T/inc/fifo-part.conf" >"$T/inc/fifo.conf"
expect_eq "@include of a directory: refused at its line" \
	"$T/inc/dir.conf:2: @include: $T/inc/adir: not a regular file" \
	"$(timeout 10 "$NACRE" check -c "$T/inc/dir.conf" 2>&1)"
expect_eq "an @include that @includes a FIFO: refused at once, in the file that names it" \
	"$T/inc/fifo-part.conf:1: @include: $T/inc/afifo: not a regular file" \
	"$(timeout 10 "$NACRE" check -c "$T/inc/fifo.conf" 2>&1)"
expect_eq "a config that is a directory: refused, with the reason" \
	"$T/inc/adir: not a regular file or a pipe" "$(timeout 10 "$NACRE" check -c "$T/inc/adir" 2>&1)"
# The config itself may be a pipe, read to its end (signals.sh holds a
# starting daemon on a FIFO config).
out=$(timeout 10 "$NACRE" check -c <(printf 'log_level = "debug";\n') 2>&1)
check "a config given as a pipe (process substitution) is read: '$out'" \
	grep -qE '^/dev/fd/[0-9]+: OK$' <<<"$out"
# A running daemon given such a config at SIGHUP keeps its own and serves on.
printf '@include "%s"\n' "$T/inc/adir" >>"$T/allow.conf"
kill -HUP "$ALLOW_PID"
wait_for_line "$T/allow.log" 'reload failed' 10 ||
	fail "SIGHUP with an @include of a directory: no 'reload failed' in the log"
printf '@include "%s"\n' "$T/inc/fifo-part.conf" >>"$T/allow.conf"
kill -HUP "$ALLOW_PID"
for i in $(seq 1 100); do [ "$(grep -c 'reload failed' "$T/allow.log")" -ge 2 ] && break; sleep 0.05; done
check "... and with a FIFO two @includes down, the reload fails too" \
	[ "$(grep -c 'reload failed' "$T/allow.log")" -ge 2 ]
expect_eq "... and the daemon still serves under its running config" "rep=00 echo=ok" \
	"$(py socks5 --proxy 127.0.0.1:$PA --src 127.0.0.2 --dest 127.0.0.1:$ECHO --echo)"

# ---- the example config shipped in contrib/ stays valid
out=$(timeout 10 "$NACRE" check -c "$top_srcdir/contrib/nacre.conf.example" 2>&1)
expect_eq "contrib/nacre.conf.example passes nacre check" \
	"$top_srcdir/contrib/nacre.conf.example: OK" "$out"

finish
