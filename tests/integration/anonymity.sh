#!/bin/bash
# Each relay learns only its neighbours (protocol/SPEC.md, goal 3), checked on
# the wire. Five network namespaces in a line, each link its own subnet, no
# forwarding anywhere, so each namespace reaches only its neighbours:
#
#   user --- r1 --- r2 --- r3 --- origin
#   .1.1  .1.2 .2.1  .2.2 .3.1  .3.2 .4.1  .4.2      (10.201.x.y)
#
# The user's nacre (in user) sends through relay1 (r1), relay2 (r2) and the
# exit relay3 (r3), which resolves origin.test with a DNS server in r3 and
# connects to an HTTP origin. Every namespace but origin records its packets.
# The user namespace has a default route through r1 (which does not forward):
# a DNS query or a connection the user's nacre should not make would leave on
# its link and be seen.
TAP_NUMBERS=1
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "network namespaces need root"
command -v ip >/dev/null || skip_all "ip (iproute2) not installed"
command -v curl >/dev/null || skip_all "curl not installed"
need_python

U=nacre-user-$$
R1=nacre-r1-$$
R2=nacre-r2-$$
R3=nacre-r3-$$
OR=nacre-origin-$$
NETNS=""
anonymity_cleanup() {
	cleanup # lib.sh: kills every process (all run inside the namespaces)
	for ns in $NETNS; do ip netns del "$ns" 2>/dev/null; done
}
trap anonymity_cleanup EXIT

for ns in $U $R1 $R2 $R3 $OR; do
	ip netns add "$ns" 2>"$T/netns.err" ||
		skip_all "ip netns add failed: $(head -n 1 "$T/netns.err")"
	NETNS="$NETNS $ns"
done

USER_IP=10.201.1.1
R1_IP=10.201.1.2 # relay1 listens here, on the user's link
R1_OUT=10.201.2.1
R2_IP=10.201.2.2
R2_OUT=10.201.3.1
R3_IP=10.201.3.2
R3_OUT=10.201.4.1 # relay3's address on the origin's subnet
ORIGIN_IP=10.201.4.2

# sysctl_ns NS KEY VALUE (through /proc: the sysctl program may be absent).
sysctl_ns() { ip netns exec "$1" sh -c "echo $3 >/proc/sys/$2"; }
# link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair between two namespaces.
link() {
	ip -n "$1" link add "$2" type veth peer name "$5" netns "$4" &&
		ip -n "$1" addr add "$3" dev "$2" && ip -n "$4" addr add "$6" dev "$5" &&
		ip -n "$1" link set "$2" up && ip -n "$4" link set "$5" up
}
build() {
	local ns
	for ns in $NETNS; do
		ip -n "$ns" link set lo up && sysctl_ns "$ns" net/ipv4/ip_forward 0 || return 1
		# No IPv6 on the links: its neighbour discovery would muddy the captures.
		sysctl_ns "$ns" net/ipv6/conf/all/disable_ipv6 1
		sysctl_ns "$ns" net/ipv6/conf/default/disable_ipv6 1
	done
	link $U to-r1 $USER_IP/30 $R1 to-user $R1_IP/30 &&
		link $R1 to-r2 $R1_OUT/30 $R2 to-r1 $R2_IP/30 &&
		link $R2 to-r3 $R2_OUT/30 $R3 to-r2 $R3_IP/30 &&
		link $R3 to-origin $R3_OUT/24 $OR to-r3 $ORIGIN_IP/24 &&
		ip -n $U route add default via $R1_IP
}
build >"$T/setup.log" 2>&1 || {
	cat "$T/setup.log"
	hard_error "could not build the namespaces' links"
}

rl_in() { # rl_in NS ARGS...: relaylib.py inside namespace NS
	local ns=$1; shift
	ip netns exec "$ns" timeout 30 "$PYTHON" -S -u "$TESTS_DIR/relaylib.py" "$@"
}

# ---- each namespace reaches its neighbours and nobody else. Port 1 has no
# listener: "refused" means the address was reached.
rl_in $U reach --to $R1_IP:1 >"$T/reach.u-r1" &
rl_in $U reach --to $R2_IP:1 >"$T/reach.u-r2" &
rl_in $U reach --to $ORIGIN_IP:1 >"$T/reach.u-origin" &
rl_in $R1 reach --to $R2_IP:1 >"$T/reach.r1-r2" &
rl_in $R1 reach --to $R3_IP:1 >"$T/reach.r1-r3" &
rl_in $R1 reach --to $ORIGIN_IP:1 >"$T/reach.r1-origin" &
rl_in $R3 reach --to $ORIGIN_IP:1 >"$T/reach.r3-origin" &
rl_in $R3 reach --to $USER_IP:1 >"$T/reach.r3-user" &
rl_in $R3 reach --to $R1_OUT:1 >"$T/reach.r3-r1" &
rl_in $OR reach --to $USER_IP:1 >"$T/reach.origin-user" &
wait
expect_eq "user reaches r1; r1 reaches r2; r3 reaches the origin" \
	"connect=refused connect=refused connect=refused" \
	"$(cat "$T/reach.u-r1") $(cat "$T/reach.r1-r2") $(cat "$T/reach.r3-origin")"
for pair in u-r2 u-origin r1-r3 r1-origin r3-user r3-r1 origin-user; do
	got=$(cat "$T/reach.$pair")
	case $got in
	connect=timeout | connect=unreachable) pass "no path $pair ($got)" ;;
	*) fail "no path $pair: expected a timeout or unreachable, got '$got'" ;;
	esac
done

# ---- captures, started before any of the test's traffic
for ns in $U $R1 $R2 $R3; do
	short=${ns#nacre-}
	short=${short%-$$}
	HELPER_NETNS=$ns start_helper "cap-$short" relaylib.py capture --out "$T/cap-$short.txt"
	CAP_PIDS="${CAP_PIDS:-} $HELPER_PID"
done

# ---- the origin, the exit's DNS server, the relays, the user's nacre
LABEL="anonymity-$$"
HELPER_NETNS=$OR start_helper origin relaylib.py origin --bind $ORIGIN_IP --port 80 --label "$LABEL"
HELPER_NETNS=$R3 start_helper dns dnsd.py --count-file "$T/dns.count" origin.test=$ORIGIN_IP
DNS=$HELPER_PORT

for r in r1 r2 r3; do
	"$NACRE" keygen "$T/$r.key" >"$T/$r.pub" 2>>"$T/keygen.log" || hard_error "nacre keygen failed"
done
# relay_conf NAME ADDRESS EXIT POLICY-DEST [EXTRA]
relay_conf() {
	cat >"$T/$1.conf" <<EOF
log_level = "debug";
${5:-}
relay = ( { address = "$2"; key_file = "$1.key"; exit = $3;
            policy = ( { dest = "$4"; action = "accept"; } ); } );
EOF
}
relay_conf r1 $R1_IP:9001 false $R2_IP/32
relay_conf r2 $R2_IP:9002 false $R3_IP/32
relay_conf r3 $R3_IP:9003 true 10.201.4.0/24 "resolver = { servers = [ \"127.0.0.1:$DNS\" ]; };"
NACRE=$(ns_wrapper $R1 "$NACRE") start_nacre relay1 -c "$T/r1.conf"
NACRE=$(ns_wrapper $R2 "$NACRE") start_nacre relay2 -c "$T/r2.conf"
NACRE=$(ns_wrapper $R3 "$NACRE") start_nacre relay3 -c "$T/r3.conf"

cat >"$T/user.conf" <<EOF
log_level = "debug";
relays = (
	{ name = "r1"; address = "$R1_IP:9001"; key = "$(cat "$T/r1.pub")"; },
	{ name = "r2"; address = "$R2_IP:9002"; key = "$(cat "$T/r2.pub")"; },
	{ name = "r3"; address = "$R3_IP:9003"; key = "$(cat "$T/r3.pub")"; }
);
chains = ( { name = "c3"; hops = [ "r1", "r2", "r3" ]; } );
route = "c3";
listen = ( { address = "127.0.0.1:0"; protocols = [ "socks5", "http" ]; } );
EOF
NACRE=$(ns_wrapper $U "$NACRE") start_nacre user -c "$T/user.conf"
P=$NACRE_PORT

# ---- the requests, from the user's namespace
in_user_curl() { ip netns exec $U timeout 20 curl -sS --max-time 15 "$@" 2>&1; }
expect_eq "curl --socks5-hostname through the 3-hop chain gets the page" \
	"nacre origin $LABEL /socks" \
	"$(in_user_curl --socks5-hostname 127.0.0.1:$P http://origin.test/socks)"
expect_eq "curl -x http:// through the 3-hop chain gets the page" \
	"nacre origin $LABEL /http" \
	"$(in_user_curl -x http://127.0.0.1:$P http://origin.test/http)"
sleep 0.3 # the closes' last packets
kill $CAP_PIDS 2>/dev/null
wait $CAP_PIDS 2>/dev/null

# ---- what the origin and the DNS server saw
expect_eq "the origin was connected to twice, each time from relay3 ($R3_OUT) only" \
	"2 $R3_OUT" \
	"$(grep -c '^connection from ' "$T/origin.log") $(awk '/^connection from / { print $3 }' "$T/origin.log" | sort -u | tr '\n' ' ' | sed 's/ $//')"
n=$(grep -c '^query origin\.test ' "$T/dns.log")
check "the DNS server in r3 answered the queries for origin.test ($n; count file: $(cat "$T/dns.count" 2>/dev/null))" \
	test "$n" -ge 1

# ---- what each namespace's wire carried (lines: IF DIR TYPE SRC DST PROTO SPORT DPORT)
cap() { cat "$T/cap-$1.txt" 2>/dev/null; }
expect_eq "user: no DNS packet (port 53, UDP or TCP) on any interface" "" \
	"$(cap user | awk '($6 == "udp" || $6 == "tcp") && ($7 == 53 || $8 == 53)' | head -n 3)"
n=$(cap user | awk -v r=$R1_IP '$1 == "to-r1" && $6 == "tcp" && ($5 == r || $4 == r)' | wc -l)
check "user: the capture saw the traffic to relay1 ($n TCP packets)" test "$n" -gt 0
expect_eq "user: every packet on its link is between the user ($USER_IP) and relay1 ($R1_IP)" "" \
	"$(cap user | awk -v u=$USER_IP -v r=$R1_IP '$1 == "to-r1" &&
		!(($4 == u && $5 == r) || ($4 == r && $5 == u))' | sort | uniq -c | head -n 5)"
n=$(cap r1 | grep -c " $R2_IP ")
check "r1: the capture saw relay1 talk to relay2 ($n packets)" test "$n" -gt 0
expect_eq "r1: no packet to or from the origin ($ORIGIN_IP) or relay3 ($R3_IP, $R3_OUT)" "" \
	"$(cap r1 | awk -v o=$ORIGIN_IP -v a=$R3_IP -v b=$R3_OUT '$4 == o || $5 == o || $4 == a || $5 == a || $4 == b || $5 == b' | head -n 3)"
expect_eq "r2: no packet to or from the user ($USER_IP) or the origin ($ORIGIN_IP)" "" \
	"$(cap r2 | awk -v u=$USER_IP -v o=$ORIGIN_IP '$4 == u || $5 == u || $4 == o || $5 == o' | head -n 3)"
n=$(cap r3 | grep -c " $ORIGIN_IP ")
check "r3: the capture saw relay3 talk to the origin ($n packets)" test "$n" -gt 0
expect_eq "r3: no packet to or from the user ($USER_IP) or relay1 ($R1_IP, $R1_OUT)" "" \
	"$(cap r3 | awk -v u=$USER_IP -v a=$R1_IP -v b=$R1_OUT '$4 == u || $5 == u || $4 == a || $5 == a || $4 == b || $5 == b' | head -n 3)"

# ---- and the user's address or name reached no log beyond relay1
check "relay2's and relay3's logs do not name the user's address" \
	bash -c "! grep -h -F '$USER_IP' '$T/relay2.log' '$T/relay3.log'"
check "relay1's and relay2's logs do not name origin.test or the origin's address" \
	bash -c "! grep -h -e 'origin\\.test' -e '$ORIGIN_IP' '$T/relay1.log' '$T/relay2.log'"

finish
