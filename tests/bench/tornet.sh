# Sourced by chains.sh: a private Tor network on loopback (the "Tor 3 hops"
# path). Expects W, say, hard_error, free_port (benchlib.sh) and the other
# helpers of chains.sh; defines TOR_DIR and the tor_* functions.

# ---- Tor: a private network on loopback --------------------------------------
# One directory authority that is also a relay, two relays and an exit, and a
# client, each a tor process with TestingTorNetwork 1 and its own data
# directory. The authority's v3 key comes from tor-gencert and its relay
# fingerprint from tor --list-fingerprint; every torrc names it in its
# DirAuthority line. The vote timings are chutney's: a first consensus 5 s in,
# then one every 20 s. The client starts once a consensus lists all four
# relays: one that started earlier could fetch a consensus of the authority
# alone and then wait a minute or more for the relays' descriptors.
#
# The exit's policy accepts the origin's and the sink's ports on every address
# and nothing else: a client judges an exit by the summary of its policy, which
# leaves out rules for private addresses, so "accept 127.0.0.1:PORT" alone
# would read as "exits nowhere". The network is closed (every ORPort and the
# SocksPort are on 127.0.0.1 and only this script's clients use it), and they
# only ask for 127.0.0.1. Every tor's DNS goes to a resolv.conf naming
# 127.0.0.1, so no query leaves the machine; the exit does not read /etc/hosts,
# so targets are IPv4 addresses.
TOR_DIR=$W/tor

tor_common() {
	cat <<EOC
TestingTorNetwork 1
DataDirectory $TOR_DIR/$1
Nickname $1
RunAsDaemon 0
PidFile $TOR_DIR/$1/pid
Log notice file $TOR_DIR/$1/notice.log
SafeLogging 0
ShutdownWaitLength 0
ServerDNSResolvConfFile $TOR_DIR/resolv.conf
DirAuthority auth orport=$TOR_AUTH_OR no-v2 v3ident=$TOR_V3ID 127.0.0.1:$TOR_AUTH_DIR $TOR_AUTH_FP
EnforceDistinctSubnets 0
EOC
}

# tor_relay ORPORT: what every relay's torrc has. A relay is a client too and
# builds circuits for the ports it predicts it will use; here it can find no
# exit but itself, so it would fail and retry every second.
tor_relay() {
	cat <<EOC
SocksPort 0
Address 127.0.0.1
ORPort 127.0.0.1:$1
AssumeReachable 1
ContactInfo bench@localhost
__DisablePredictedCircuits 1
EOC
}

# start_tor3: writes the keys and torrcs and starts the authority and the
# relays; tor_ready starts the client.
start_tor3() {
	local n or1 or2 orx sp pids=""
	mkdir -p "$TOR_DIR" && chmod 700 "$TOR_DIR" || return 1
	for n in auth r1 r2 exit client; do mkdir -m 700 "$TOR_DIR/$n" || return 1; done
	mkdir -m 700 "$TOR_DIR/auth/keys" || return 1
	echo "nameserver 127.0.0.1" >"$TOR_DIR/resolv.conf"
	: >"$TOR_DIR/empty.torrc"
	TOR_AUTH_OR=$(free_port) TOR_AUTH_DIR=$(free_port)
	or1=$(free_port) or2=$(free_port) orx=$(free_port) sp=$(free_port)
	echo "" | tor-gencert --create-identity-key -m 12 -a "127.0.0.1:$TOR_AUTH_DIR" \
		-i "$TOR_DIR/auth/keys/authority_identity_key" \
		-s "$TOR_DIR/auth/keys/authority_signing_key" \
		-c "$TOR_DIR/auth/keys/authority_certificate" --passphrase-fd 0 \
		>"$TOR_DIR/gencert.log" 2>&1 || return 1
	TOR_V3ID=$(sed -n 's/^fingerprint //p' "$TOR_DIR/auth/keys/authority_certificate")
	tor --list-fingerprint --DataDirectory "$TOR_DIR/auth" --ORPort "127.0.0.1:$TOR_AUTH_OR" \
		--Nickname auth -f "$TOR_DIR/empty.torrc" >"$TOR_DIR/fingerprint.log" 2>&1 || return 1
	TOR_AUTH_FP=$(awk '{ print $2 }' "$TOR_DIR/auth/fingerprint")
	[ -n "$TOR_V3ID" ] && [ -n "$TOR_AUTH_FP" ] || return 1

	{
		tor_common auth
		tor_relay "$TOR_AUTH_OR"
		cat <<EOC
DirPort 127.0.0.1:$TOR_AUTH_DIR
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
ExitPolicy reject *:*
TestingV3AuthInitialVotingInterval 5
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
V3AuthVotingInterval 20
V3AuthVoteDelay 2
V3AuthDistDelay 2
TestingDirAuthVoteExit *
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir *
EOC
	} >"$TOR_DIR/auth.torrc"
	for n in r1:$or1 r2:$or2; do
		{
			tor_common "${n%%:*}"
			tor_relay "${n#*:}"
			printf 'ExitRelay 0\nExitPolicy reject *:*\n'
		} >"$TOR_DIR/${n%%:*}.torrc"
	done
	{
		tor_common exit
		tor_relay "$orx"
		cat <<EOC
ExitRelay 1
ExitPolicyRejectPrivate 0
ExitPolicyRejectLocalInterfaces 0
ExitPolicy accept *:$NGX_PORT, accept *:$SINK_PORT, reject *:*
EOC
	} >"$TOR_DIR/exit.torrc"
	# Conflux would want two circuits to the one exit with no relay in common,
	# and vanguards-lite a second layer of guards for its pre-built internal
	# circuits: four relays cannot give either, so both would only fail and
	# retry every second.
	{
		tor_common client
		printf 'SocksPort 127.0.0.1:%s\nConfluxEnabled 0\nVanguardsLiteEnabled 0\n' "$sp"
	} >"$TOR_DIR/client.torrc"

	for n in auth r1 r2 exit; do
		tor -f "$TOR_DIR/$n.torrc" >"$TOR_DIR/$n.out" 2>&1 &
		PIDS="$PIDS $!"
		pids="$pids $!"
	done
	PORT[tor3]=$sp
	PPIDS[tor3]=$pids
	TOR_STARTED=$(date +%s)
}

# tor_alive: every tor process of the path still runs.
tor_alive() {
	local p
	for p in ${PPIDS[tor3]}; do kill -0 "$p" 2>/dev/null || return 1; done
}

# tor_ready: starts the client once the authority's consensus lists the four
# relays, then waits (at most 180 s from the start in all) until it has
# bootstrapped and a GET goes through it.
tor_ready() {
	local got="" i
	until [ "$(grep -c '^r ' "$TOR_DIR/auth/cached-microdesc-consensus" 2>/dev/null)" = 4 ]; do
		[ $(($(date +%s) - TOR_STARTED)) -lt 180 ] && tor_alive || return 1
		sleep 0.2
	done
	tor -f "$TOR_DIR/client.torrc" >"$TOR_DIR/client.out" 2>&1 &
	PIDS="$PIDS $!"
	# client first, as for the other paths
	PPIDS[tor3]="$! ${PPIDS[tor3]}"
	PNAMES[tor3]="client auth r1 r2 exit"
	for i in $(seq 1800); do
		grep -q 'Bootstrapped 100%' "$TOR_DIR/client/notice.log" 2>/dev/null && break
		[ $(($(date +%s) - TOR_STARTED)) -lt 180 ] && tor_alive || return 1
		sleep 0.1
	done
	while [ $(($(date +%s) - TOR_STARTED)) -lt 180 ]; do
		got=$(curl -s --max-time 20 --socks5 "127.0.0.1:${PORT[tor3]}" -o /dev/null \
			-w '%{size_download}' "http://$ORIGIN/1k")
		[ "$got" = 1024 ] && return 0
		sleep 1
	done
	return 1
}

tor_log_tail() {
	local n
	for n in auth exit client; do
		echo "---- tor $n (last 5 lines)"
		tail -n 5 "$TOR_DIR/$n/notice.log" "$TOR_DIR/$n.out" 2>/dev/null
	done
}

