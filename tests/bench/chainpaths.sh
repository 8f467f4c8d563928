# Sourced by chains.sh: how each path but Tor's is started (nacre 1 and 3 hops,
# nacre direct, shadowsocks-libev 1 hop and its layered 3 hops). Expects W,
# NACRE, say, hard_error, free_port, wait_port (benchlib.sh) and the other
# helpers of chains.sh; defines PORT, PPIDS, PNAMES and BYTES and the start_*
# functions.

# ---- the paths ---------------------------------------------------------------

# PORT[path]: its SOCKS5 port. PPIDS[path]: its processes, client first.
# PNAMES[path]: their names, in the same order. BYTES[path]: its bulk size.
declare -A PORT PPIDS PNAMES BYTES

# nacre_start NAME CONF: runs nacre -c CONF, logging to NAME.log; sets NPID and
# NPORT (the port of the first "listening on" line: each process here has one
# listener, a relay or a SOCKS one).
nacre_start() {
	local name=$1 conf=$2 i
	"$NACRE" check -c "$conf" >"$W/$name.check" 2>&1 || {
		cat "$W/$name.check"
		hard_error "nacre check refuses $conf"
	}
	# A path started again keeps its earlier logs in NAME.old.
	[ -f "$W/$name.log" ] && cat "$W/$name.log" >>"$W/$name.old"
	: >"$W/$name.log" # exists before the loop below reads it
	"$NACRE" -c "$conf" >>"$W/$name.log" 2>&1 &
	NPID=$!
	PIDS="$PIDS $NPID"
	NPORT=""
	for i in $(seq 200); do
		NPORT=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+) .*/\1/p' "$W/$name.log" | head -n 1)
		[ -n "$NPORT" ] && break
		kill -0 "$NPID" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$NPORT" ] || hard_error "nacre $name did not start"
}

# Every nacre here takes 2,000 idle tunnels from one address (127.0.0.1): the
# defaults are 4,096 clients and 256 per address.
NACRE_LIMITS='limits = { connections = 20000; per_client = 20000; };'
NACRE_CIPHER=${NACRE_CIPHER:-auto}
# Whether the user's nacre reaches its first relay over a link (nacre.conf(5),
# relays.links): true by default, as in nacre.conf.
NACRE_LINKS=${NACRE_LINKS:-true}
# Whether a 3-hop chain's middle relays reach the next relay over a link
# (their own relays list names it): as NACRE_LINKS unless given.
NACRE_RELAY_LINKS=${NACRE_RELAY_LINKS:-$NACRE_LINKS}
NACRE_LIMITS="$NACRE_LIMITS
record_cipher = \"$NACRE_CIPHER\";"

# nacre_relay NAME POLICY EXIT [NEXT]: a relay process with a fresh key; sets
# NPID, NPORT and NPUB. NEXT (name:port:pubkey): the next relay, named in its
# relays list (links = NACRE_RELAY_LINKS).
nacre_relay() {
	local name=$1 policy=$2 exit=$3 next="" nn np nk
	if [ -n "${4:-}" ]; then
		IFS=: read -r nn np nk <<<"$4"
		next="relays = ( { name = \"$nn\"; address = \"127.0.0.1:$np\"; key = \"$nk\"; links = $NACRE_RELAY_LINKS; } );"
	fi
	rm -f "$W/$name.key"
	NPUB=$("$NACRE" keygen "$W/$name.key" 2>>"$W/keygen.log") || hard_error "nacre keygen failed"
	cat >"$W/$name.conf" <<EOC
listen = ();
log_level = "info";
$NACRE_LIMITS
$next
relay = ( { address = "127.0.0.1:0"; key_file = "$name.key"; exit = $exit;
	    policy = ( $policy ); } );
EOC
	nacre_start "$name" "$W/$name.conf"
}

# nacre_client NAME RELAYS HOPS: a SOCKS5 listener whose route is a chain.
# RELAYS: name:port:pubkey words.
nacre_client() {
	local name=$1 relays=$2 hops=$3 r list=""
	for r in $relays; do
		IFS=: read -r rn rp rk <<<"$r"
		list="$list${list:+,
	}{ name = \"$rn\"; address = \"127.0.0.1:$rp\"; key = \"$rk\"; links = $NACRE_LINKS; }"
	done
	cat >"$W/$name.conf" <<EOC
log_level = "info";
$NACRE_LIMITS
relays = ( $list );
chains = ( { name = "bench"; hops = [ $hops ]; } );
route = "bench";
listen = ( { address = "127.0.0.1:0"; } );
EOC
	nacre_start "$name" "$W/$name.conf"
}

EXIT_POLICY='{ dest = "127.0.0.1/32"; action = "accept"; }'
# A middle relay may reach the next relay and nothing else.
middle_policy() { echo "{ dest = \"127.0.0.1/32\"; port = $1; action = \"accept\"; }, { dest = \"*\"; action = \"reject\"; }"; }

start_nacre1() {
	local xp xk
	nacre_relay n1-exit "$EXIT_POLICY" true
	xp=$NPORT xk=$NPUB
	PPIDS[nacre1]=$NPID
	nacre_client n1-client "x:$xp:$xk" '"x"'
	PORT[nacre1]=$NPORT
	PPIDS[nacre1]="$NPID ${PPIDS[nacre1]}"
	PNAMES[nacre1]="client exit"
}

start_nacre3() {
	local p3 k3 p2 k2 p1 k1 pids
	nacre_relay n3-r3 "$EXIT_POLICY" true
	p3=$NPORT k3=$NPUB pids=$NPID
	nacre_relay n3-r2 "$(middle_policy "$p3")" false "r3:$p3:$k3"
	p2=$NPORT k2=$NPUB pids="$NPID $pids"
	nacre_relay n3-r1 "$(middle_policy "$p2")" false "r2:$p2:$k2"
	p1=$NPORT k1=$NPUB pids="$NPID $pids"
	nacre_client n3-client "r1:$p1:$k1 r2:$p2:$k2 r3:$p3:$k3" '"r1", "r2", "r3"'
	PORT[nacre3]=$NPORT
	PPIDS[nacre3]="$NPID $pids"
	PNAMES[nacre3]="client r1 r2 r3"
}

# nacre0: one nacre in direct mode, measured for new connections only. A
# chain's two ends do between them at least the socket work this one process
# does (the application's connection and the origin's), so its CPU per new
# connection is the floor under nacre 1 hop's, whatever the link costs.
start_nacre0() {
	cat >"$W/n0.conf" <<EOC
log_level = "info";
$NACRE_LIMITS
listen = ( { address = "127.0.0.1:0"; } );
EOC
	nacre_start n0 "$W/n0.conf"
	PORT[nacre0]=$NPORT
	PPIDS[nacre0]=$NPID
	PNAMES[nacre0]="proxy"
}

ss_key() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }

# ss_run NAME PROGRAM ARGS...: one shadowsocks process; sets SPID.
ss_run() {
	local name=$1
	shift
	"$@" >>"$W/$name.log" 2>&1 &
	SPID=$!
	PIDS="$PIDS $SPID"
}

start_ss1() {
	local sp lp k pids
	sp=$(free_port) lp=$(free_port) k=$(ss_key)
	ss_run ss1-server ss-server -s 127.0.0.1 -p "$sp" -k "$k" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	pids=$SPID
	ss_run ss1-local ss-local -s 127.0.0.1 -p "$sp" -b 127.0.0.1 -l "$lp" -k "$k" -m "$SS_METHOD" --no-delay
	pids="$SPID $pids"
	PPIDS[ss1]=$pids
	wait_port "$sp" 10 && wait_port "$lp" 10 || return 1
	PORT[ss1]=$lp
	PNAMES[ss1]="ss-local ss-server"
}

start_ss3() {
	local s1 s2 s3 t1 t2 lp k1 k2 k3 pids p
	s1=$(free_port) s2=$(free_port) s3=$(free_port) t1=$(free_port) t2=$(free_port) lp=$(free_port)
	k1=$(ss_key) k2=$(ss_key) k3=$(ss_key)
	ss_run ss3-s3 ss-server -s 127.0.0.1 -p "$s3" -k "$k3" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	pids=$SPID
	ss_run ss3-s2 ss-server -s 127.0.0.1 -p "$s2" -k "$k2" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	pids="$SPID $pids"
	ss_run ss3-s1 ss-server -s 127.0.0.1 -p "$s1" -k "$k1" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	pids="$SPID $pids"
	# T1 wraps layer 1 around a stream for S2 and hands it to S1; T2 wraps
	# layer 2 around a stream for S3 and hands it to T1.
	ss_run ss3-t1 ss-tunnel -s 127.0.0.1 -p "$s1" -b 127.0.0.1 -l "$t1" -k "$k1" -m "$SS_METHOD" \
		-L "127.0.0.1:$s2" --no-delay
	pids="$SPID $pids"
	ss_run ss3-t2 ss-tunnel -s 127.0.0.1 -p "$t1" -b 127.0.0.1 -l "$t2" -k "$k2" -m "$SS_METHOD" \
		-L "127.0.0.1:$s3" --no-delay
	pids="$SPID $pids"
	ss_run ss3-local ss-local -s 127.0.0.1 -p "$t2" -b 127.0.0.1 -l "$lp" -k "$k3" -m "$SS_METHOD" --no-delay
	pids="$SPID $pids"
	PPIDS[ss3]=$pids
	for p in "$s1" "$s2" "$s3" "$t1" "$t2" "$lp"; do wait_port "$p" 10 || return 1; done
	PORT[ss3]=$lp
	PNAMES[ss3]="ss-local T2 T1 S1 S2 S3"
}
