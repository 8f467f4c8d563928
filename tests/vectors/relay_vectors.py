#!/usr/bin/python3
"""Test vectors for nacre's relay protocol (protocol/SPEC.md).

An independent implementation of the handshake, the first flight, the
record suites, the record layer and links (the LINK flight, frames and
control messages), written from protocol/SPEC.md alone, not from the C code.
It prints the values in SPEC.md's "Test vectors" section, which
tests/unit/test_relay_vectors.c recomputes with the C code.

Run it with Debian's python (it needs python3-cryptography):

    /usr/bin/python3 tests/vectors/relay_vectors.py          # the SPEC.md text
    /usr/bin/python3 tests/vectors/relay_vectors.py --c      # a C table

A developer tool: `make check` does not run it.
"""

import hashlib
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

L = 376  # one hop's layer without its blob
MAX_HOPS = 8
HDR_LEN = 288
SUITES_OFF = 279  # the header's suites byte
SUITE_CHACHA = 0  # "Record suites": ChaCha20-Poly1305, every relay has it
SUITE_GCM = 1  # AES-256-GCM, offered with suites bit 0
TIMESTAMP = 1700000000
CMD_LINK = 3  # "Hop header": command 3, LINK
LINK_BLOB = 7 * L  # "Opening a link": blob_len 2632, all zero
LINK_FRAME_MAX = 16402  # "Frames": 1 <= len <= 16402
MSG_PAD, MSG_CREDIT, MSG_FIN, MSG_RESET = 0, 1, 2, 3  # "Control messages"

# ------------------------------------------------------------ primitives


def pk(secret):
    """PK(a): X25519 with the base point."""
    return (
        X25519PrivateKey.from_private_bytes(secret)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


def dh(secret, public):
    """DH(a, B); an all-zero result is a failure."""
    out = X25519PrivateKey.from_private_bytes(secret).exchange(
        X25519PublicKey.from_public_bytes(public)
    )
    if out == bytes(32):
        raise ValueError("low-order point")
    return out


def h(m, key=None):
    """H(key; m): BLAKE2b-256, keyed when key is given."""
    if key is None:
        return hashlib.blake2b(m, digest_size=32).digest()
    return hashlib.blake2b(m, key=key, digest_size=32).digest()


def n12(i):
    """N(i): i as 64 bits little-endian, then four zero bytes."""
    return struct.pack("<Q", i) + bytes(4)


def aead(key, nonce, ad, m):
    """ChaCha20-Poly1305 IETF: ciphertext || 16-byte tag."""
    return ChaCha20Poly1305(key).encrypt(nonce, m, ad if ad else None)


def gcm(key, nonce, ad, m):
    """GCM(k, n, ad, m): AES-256-GCM, 12-byte nonce, ciphertext || 16-byte tag."""
    return AESGCM(key).encrypt(nonce, m, ad if ad else None)


def chacha20_stream(key, nonce12, n):
    """STREAM(k, n12): ChaCha20 IETF key stream, block counter 0.

    cryptography's ChaCha20 takes 16 bytes: a 4-byte little-endian block
    counter, then the 12-byte nonce."""
    enc = Cipher(algorithms.ChaCha20(key, bytes(4) + nonce12), mode=None).encryptor()
    return enc.update(bytes(n))


M32 = 0xFFFFFFFF


def _rotl(v, c):
    return ((v << c) & M32) | (v >> (32 - c))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & M32
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & M32
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & M32
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & M32
    s[b] = _rotl(s[b] ^ s[c], 7)


def hchacha20(key, nonce16):
    """HChaCha20 (draft-irtf-cfrg-xchacha, section 2.2)."""
    s = list(struct.unpack("<4I", b"expand 32-byte k"))
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        _quarter(s, 0, 4, 8, 12)
        _quarter(s, 1, 5, 9, 13)
        _quarter(s, 2, 6, 10, 14)
        _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15)
        _quarter(s, 1, 6, 11, 12)
        _quarter(s, 2, 7, 8, 13)
        _quarter(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha20_stream(key, nonce24, n):
    """XSTREAM(k, n24): ChaCha20 under HChaCha20(k, n[0..16]) with the
    8-byte nonce n[16..24] and block counter 0."""
    return chacha20_stream(hchacha20(key, nonce24[:16]), bytes(4) + nonce24[16:], n)


def kdf(subkey_id, master, ctx=b"nacre1rk"):
    """crypto_kdf_derive_from_key(32, id, ctx, master): BLAKE2b-256 keyed
    with master, salt = id (64-bit little-endian) || 8 zeros, personal =
    ctx || 8 zeros, empty message."""
    return hashlib.blake2b(
        b"",
        key=master,
        digest_size=32,
        salt=struct.pack("<Q", subkey_id) + bytes(8),
        person=ctx + bytes(8),
    ).digest()


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def self_test():
    # draft-irtf-cfrg-xchacha-03, 2.2.1
    key = bytes(range(32))
    nonce = bytes.fromhex("000000090000004a0000000031415927")
    want = "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"
    assert hchacha20(key, nonce).hex() == want
    # RFC 7539, 2.4.2: the key stream's first block (counter 1) XOR plaintext
    key = bytes(range(32))
    nonce = bytes.fromhex("000000000000004a00000000")
    enc = Cipher(algorithms.ChaCha20(key, struct.pack("<I", 1) + nonce), mode=None).encryptor()
    ct = enc.update(b"Ladies and Gentlemen of the class of '99: If I could offer you only one")
    assert ct[:16].hex() == "6e2e359a2568f98041ba0728dd0d6981"
    # RFC 7748, 6.1
    a = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    assert pk(a).hex() == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    # McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13, 14
    assert gcm(bytes(32), bytes(12), None, b"").hex() == "530f8afbc74536b9a963b4f1c4cb738b"
    want = "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"
    assert gcm(bytes(32), bytes(12), None, bytes(16)).hex() == want
    # XSTREAM and KDF are defined by libsodium's functions: when its shared
    # library is at hand, compare the pure-Python versions with it.
    try:
        import ctypes
        import ctypes.util

        na = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    except OSError:
        print("# libsodium not loadable: XSTREAM/KDF checked against HChaCha20 only", file=sys.stderr)
        return
    assert na.sodium_init() >= 0
    key = bytes(range(0x80, 0xA0))
    nonce = bytes(range(0x40, 0x58))
    out = ctypes.create_string_buffer(100)
    na.crypto_stream_xchacha20(out, ctypes.c_ulonglong(100), nonce, key)
    assert out.raw == xchacha20_stream(key, nonce, 100)
    na.crypto_stream_chacha20_ietf(out, ctypes.c_ulonglong(100), nonce[:12], key)
    assert out.raw == chacha20_stream(key, nonce[:12], 100)
    sub = ctypes.create_string_buffer(32)
    na.crypto_kdf_derive_from_key(sub, ctypes.c_size_t(32), ctypes.c_uint64(7), b"nacre1rk", key)
    assert sub.raw == kdf(7, key)
    if na.crypto_aead_aes256gcm_is_available():
        m, ad = bytes(range(0x10, 0x35)), b"\x12\x34"
        ct = ctypes.create_string_buffer(len(m) + 16)
        ull = ctypes.c_ulonglong
        na.crypto_aead_aes256gcm_encrypt(ct, None, m, ull(len(m)), ad, ull(2), None, nonce[:12], key)
        assert ct.raw == gcm(key, nonce[:12], ad, m)


# ------------------------------------------------------------ the protocol


class Relay:
    def __init__(self, secret, addr, gcm=True):
        self.s = secret
        self.S = pk(secret)
        self.MK = h(b"nacre/1 mask" + self.S)
        self.addr = addr  # (type, bytes, port)
        self.gcm = gcm  # its CPU and configuration allow AES-256-GCM


def master(es, ee, E, R, S, suite):
    """M = H(es || ee; "nacre/1 session" || E || R || S || suite) (SPEC "Handshake")."""
    return h(b"nacre/1 session" + E + R + S + bytes([suite]), es + ee)


def record_keys(M):
    """KDF(1..4, M): each direction's AEAD key and length mask key."""
    names = ("c2r_key", "c2r_mask", "r2c_key", "r2c_mask")
    return {name: kdf(i, M) for i, name in enumerate(names, 1)}


class Hop:
    """The client's side of one hop; offer is its header's suites byte."""

    def __init__(self, relay, e_seed, nonce, offer=0):
        self.relay = relay
        self.e = e_seed
        self.E = pk(e_seed)
        self.n = nonce
        self.offer = offer
        self.es = dh(self.e, relay.S)
        self.FK = h(b"nacre/1 flight" + self.E + relay.S, self.es)
        self.RK = h(b"nacre/1 reply" + self.E + relay.S, self.es)

    def layer(self, header, blob):
        masked = xor(self.E, xchacha20_stream(self.relay.MK, self.n, 32))
        ad = self.n + masked
        self.wire = ad + aead(self.FK, n12(0), ad, header) + aead(self.FK, n12(1), None, blob)
        return self.wire

    def accept(self, sealed):
        """Opens the reply AEAD(RK, N(0), -, R || suite) and derives the keys.

        A suite the client did not offer, or does not know, fails the hop
        (SPEC "Record suites")."""
        plain = ChaCha20Poly1305(self.RK).decrypt(n12(0), sealed, None)
        if len(plain) != 33:
            raise ValueError("reply length")
        R, suite = plain[:32], plain[32]
        if suite not in (SUITE_CHACHA, SUITE_GCM) or (suite == SUITE_GCM and not self.offer & 1):
            raise ValueError("suite not offered")
        self.suite = suite
        self.M = master(self.es, dh(self.e, R), self.E, R, self.relay.S, suite)
        self.keys = record_keys(self.M)

    def record(self, direction, i, rtype, payload):
        """Record i of direction "c2r" or "r2c" under this hop's suite."""
        k = self.keys
        return record(self.suite, k[direction + "_key"], k[direction + "_mask"], i, rtype, payload)


def relay_open(relay, wire):
    """The relay's step 1 (SPEC "What a relay does with a flight"): unmask E,
    es = DH(s, E), open the header under FK. Returns (E, es, header)."""
    n, masked = wire[:24], wire[24:56]
    E = xor(masked, xchacha20_stream(relay.MK, n, 32))
    es = dh(relay.s, E)
    fk = h(b"nacre/1 flight" + E + relay.S, es)
    hdr = ChaCha20Poly1305(fk).decrypt(n12(0), wire[56 : 56 + HDR_LEN + 16], wire[:56])
    if hdr[SUITES_OFF] & ~1 or any(hdr[SUITES_OFF + 1 :]):
        raise ValueError("reserved bits set")
    return E, es, hdr


def reply(relay, wire, r_seed):
    """The relay's side: it opens the layer, picks the suite (1 when offered
    and it allows GCM, else 0; SPEC "Record suites") and seals R || suite
    under RK: 32 + 1 + 16 = 49 bytes. Returns the reply and the relay's M."""
    E, es, hdr = relay_open(relay, wire)
    suite = SUITE_GCM if hdr[SUITES_OFF] & 1 and relay.gcm else SUITE_CHACHA
    R = pk(r_seed)
    rk = h(b"nacre/1 reply" + E + relay.S, es)
    sealed = aead(rk, n12(0), None, R + bytes([suite]))
    assert len(sealed) == 49
    return sealed, master(es, dh(r_seed, E), E, R, relay.S, suite)


def handshake(hop, r_seed):
    """The relay answers hop's layer, the client accepts; both hold one M."""
    sealed, M = reply(hop.relay, hop.wire, r_seed)
    hop.accept(sealed)
    assert hop.M == M
    return sealed


def header(cmd, blob_len, data_len, skip, addr, suites):
    atyp, a, port = addr
    if atyp == 3 and cmd == 1:
        raise ValueError("names only with CONNECT")
    assert suites & ~1 == 0  # bit 0 AES-256-GCM, the other bits zero
    hdr = bytes([1, cmd]) + struct.pack(">QIIHH", TIMESTAMP, blob_len, data_len, skip, port)
    hdr += bytes([atyp, len(a)]) + a
    assert len(hdr) <= SUITES_OFF
    hdr += bytes(SUITES_OFF - len(hdr)) + bytes([suites])
    return hdr + bytes(HDR_LEN - len(hdr))


def flight(hops, dst, early):
    """Builds the one first flight, from the exit outwards (SPEC "Padding")."""
    n = len(hops)
    d = len(early)
    F = MAX_HOPS * L + d
    blob = early + bytes((MAX_HOPS - n) * L)
    for k in range(n, 0, -1):  # 1-based
        hop = hops[k - 1]
        blob_len = F - k * L
        skip = (k - 1) * L
        assert len(blob) == blob_len
        if k == n:
            hdr = header(2, blob_len, d, skip, dst, hop.offer)
        else:
            hdr = header(1, blob_len, blob_len, skip, hops[k].relay.addr, hop.offer)
        blob = hop.layer(hdr, blob)
    assert len(blob) == F
    return blob


def record(suite, key, mask, i, rtype, payload):
    """One record (SPEC "Records"): the length masked with STREAM(mask, N(i))
    under every suite, the body sealed with AEAD (suite 0) or GCM (suite 1)."""
    ln = 1 + len(payload)
    assert 1 <= ln <= 16384
    masked = xor(struct.pack(">H", ln), chacha20_stream(mask, n12(i), 2))
    seal = gcm if suite == SUITE_GCM else aead
    return masked + seal(key, n12(i), masked, bytes([rtype]) + payload)


# ------------------------------------------------------------ links


def link_header(offer):
    """The LINK header (SPEC "Opening a link"): command 3, blob_len 2632,
    data_len 0, skip 0, port, address type and length 0, the address bytes
    zero, suites as offered, flags 0; every other byte as "Hop header"."""
    return header(CMD_LINK, LINK_BLOB, 0, 0, (0, b"", 0), offer)


def message(kind, cid, value):
    """One control message (SPEC "Control messages"): kind (1), circuit id
    (4), value (4), big-endian."""
    assert kind in (MSG_PAD, MSG_CREDIT, MSG_FIN, MSG_RESET)
    if kind == MSG_PAD:
        assert cid == 0 and value == 0
    else:
        assert cid != 0
        assert value >= 1 if kind == MSG_CREDIT else value == 0
    return struct.pack(">BII", kind, cid, value)


def frame(suite, ck, hk, j, cid, body):
    """Frame j of one direction (SPEC "Frames"): (id || len) masked with
    STREAM(HK, N(j))[0..6], then the body. id 0 is a control frame, body the
    messages sealed with AEAD(CK, N(j), ad = the 6 masked bytes) (GCM for a
    link of suite 1), len = m + 16; any other id a data frame, body the
    circuit's bytes as they are."""
    if cid == 0:
        assert len(body) >= 9 and len(body) % 9 == 0
        ln = len(body) + 16
    else:
        ln = len(body)
    assert 1 <= ln <= LINK_FRAME_MAX
    masked = xor(struct.pack(">IH", cid, ln), chacha20_stream(hk, n12(j), 6))
    if cid == 0:
        seal = gcm if suite == SUITE_GCM else aead
        body = seal(ck, n12(j), masked, body)
    return masked + body


class Link:
    """The client's side of a link (SPEC "Links"): a first flight of one
    layer with a LINK header, the hop's handshake, then frames under
    CK_c = KDF(1, M), HK_c = KDF(2, M), CK_r = KDF(3, M), HK_r = KDF(4, M):
    the subkeys a hop takes for its records."""

    def __init__(self, relay, e_seed, nonce, offer=0):
        self.hop = Hop(relay, e_seed, nonce, offer)
        self.flight = self.hop.layer(link_header(offer), bytes(LINK_BLOB))
        assert len(self.flight) == 8 * L  # 3008, as any flight without early data

    def open(self, r_seed):
        """The relay checks the flight as any (steps 1 to 3), the client opens
        its reply. Returns the reply."""
        _, _, hdr = relay_open(self.hop.relay, self.flight)
        assert hdr[1] == CMD_LINK and not any(hdr[280:])
        return handshake(self.hop, r_seed)

    def frame(self, direction, j, cid, body):
        """Frame j of direction "c2r" or "r2c" under the link's suite."""
        k = self.hop.keys
        return frame(self.hop.suite, k[direction + "_key"], k[direction + "_mask"], j, cid, body)


# ------------------------------------------------------------ fixed inputs


def seq_bytes(start, n):
    return bytes((start + i) & 0xFF for i in range(n))


def relay_secret(k):
    return seq_bytes(0x20 * k, 32)  # k = 1, 2, 3: 20..3f, 40..5f, 60..7f


def e_seed(k):
    return seq_bytes(0x80 + 0x20 * (k - 1), 32)  # 80..9f, a0..bf, c0..df


def nonce(k):
    return seq_bytes(24 * (k - 1), 24)  # 00..17, 18..2f, 30..47


def r_seed(k):
    return bytes(b ^ 0xFF for b in relay_secret(k))  # the complement of s_k


def ipv4(s, port):
    return (1, bytes(int(x) for x in s.split(".")), port)


def ipv6(a, port):
    import ipaddress

    return (4, ipaddress.IPv6Address(a).packed, port)


DST = (3, b"example.com", 443)
EARLY = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
HELLO = b"hello"


def chain(addrs, offer=0):
    """Relays 1..n, all allowing AES-256-GCM; every hop's suites byte is offer."""
    relays = [Relay(relay_secret(k), addrs[k - 1]) for k in range(1, len(addrs) + 1)]
    return [Hop(relays[k - 1], e_seed(k), nonce(k), offer) for k in range(1, len(addrs) + 1)]


def vectors():
    v = []  # (name, bytes)

    v4 = [ipv4("192.0.2.%d" % k, 9000 + k) for k in (1, 2, 3)]
    v6 = [ipv6("2001:db8::%d" % k, 9000 + k) for k in (1, 2, 3)]

    three = chain(v4)
    for k, hop in enumerate(three, 1):
        v.append(("relay%d_sk" % k, hop.relay.s))
        v.append(("relay%d_pk" % k, hop.relay.S))
        v.append(("relay%d_mask" % k, hop.relay.MK))
    for k in (1, 2, 3):
        v.append(("e%d_seed" % k, e_seed(k)))
        v.append(("nonce%d" % k, nonce(k)))
        v.append(("r%d_seed" % k, r_seed(k)))
    v.append(("hop1_e_pk", three[0].E))
    v.append(("hop1_fk", three[0].FK))
    v.append(("hop1_rk", three[0].RK))

    # 1 hop: relay 1 is the exit; the client offers AES-256-GCM (suites 01).
    one = chain(v4[:1], offer=0x01)
    f1 = flight(one, DST, EARLY)
    v.append(("flight1_head", f1[:64]))
    v.append(("flight1_hash", h(f1)))

    # 3 hops, IPv4 relays, the name and the early data; suites 00 everywhere.
    f3 = flight(three, DST, EARLY)
    v.append(("flight3_head", f3[:64]))
    v.append(("flight3_hash", h(f3)))

    # 3 hops, IPv6 relays, an IPv4 destination, no early data.
    six = chain(v6)
    f3b = flight(six, ipv4("198.51.100.7", 80), b"")
    v.append(("flight3v6_head", f3b[:64]))
    v.append(("flight3v6_hash", h(f3b)))

    for k, hop in enumerate(three, 1):
        v.append(("reply%d" % k, handshake(hop, r_seed(k))))
        assert hop.suite == SUITE_CHACHA
    # The 1-hop chain's reply: relay 1 answers suite 1.
    v.append(("reply1_gcm", handshake(one[0], r_seed(1))))
    assert one[0].suite == SUITE_GCM
    keys = three[0].keys
    for name in ("c2r_key", "c2r_mask", "r2c_key", "r2c_mask"):
        v.append(("hop1_" + name, keys[name]))
    v.append(("hello_c2r", three[0].record("c2r", 0, 0, HELLO)))
    v.append(("hello_r2c", three[0].record("r2c", 0, 0, HELLO)))
    # The first record each way on the 1-hop chain, under AES-256-GCM.
    v.append(("hello_gcm_c2r", one[0].record("c2r", 0, 0, HELLO)))
    v.append(("hello_gcm_r2c", one[0].record("r2c", 0, 0, HELLO)))

    # Through the 3 hops: "hello" for the exit, sealed again for hop 2, then hop 1.
    inner = HELLO
    for hop in reversed(three):
        inner = hop.record("c2r", 0, 0, inner)
    v.append(("hello3_c2r", inner))

    # A link to relay 1 with hop 1's seed and nonce, offering no suite: its
    # reply is reply1 and its keys hop 1's record keys.
    link = Link(three[0].relay, e_seed(1), nonce(1))
    assert link.open(r_seed(1)) == dict(v)["reply1"]
    assert link.hop.suite == SUITE_CHACHA and link.hop.keys == three[0].keys
    v.append(("link_flight_head", link.flight[:64]))
    v.append(("link_flight_hash", h(link.flight)))
    v.append(("link_c2r_0", link.frame("c2r", 0, 1, HELLO)))
    credit_fin = message(MSG_CREDIT, 1, 65536) + message(MSG_FIN, 1, 0)
    v.append(("link_c2r_1", link.frame("c2r", 1, 0, credit_fin)))
    v.append(("link_r2c_0", link.frame("r2c", 0, 0, message(MSG_RESET, 1, 0))))
    return v


def main():
    self_test()
    v = vectors()
    if "--c" in sys.argv[1:]:
        for name, b in v:
            print('\t{"%s", "%s"},' % (name, b.hex()))
        return
    width = max(len(name) for name, _ in v)
    for name, b in v:
        print("%-*s %s" % (width, name, b.hex()))


if __name__ == "__main__":
    main()
