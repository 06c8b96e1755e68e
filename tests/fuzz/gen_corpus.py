#!/usr/bin/env python3
"""Writes the hand-made seed inputs of every fuzz target into corpus/<target>/seed-*.

The seeds are small, valid or nearly valid inputs that start the fuzzer inside each parser;
inputs the fuzzer found later are committed next to them (names without the seed- prefix).
Run from anywhere: python3 tests/fuzz/gen_corpus.py  (it only rewrites seed-* files)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def name(text):
    """Wire form of a dotted name ("" or "." = root)."""
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def rr(owner, rtype, rdata, ttl=300, rclass=1):
    if isinstance(owner, str):
        owner = name(owner)
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def opt(size=1232, do=False, version=0, options=b""):
    return b"\0" + struct.pack(">HHBBHH", 41, size, 0, version, 0x8000 if do else 0,
                               len(options)) + options


def question(qname, qtype=1, qclass=1):
    return name(qname) + struct.pack(">HH", qtype, qclass)


def soa(mname="ns.example.com", rname="hostmaster.example.com", minimum=300):
    return name(mname) + name(rname) + struct.pack(">IIIII", 2026112401, 7200, 900, 1209600,
                                                   minimum)


A = bytes([192, 0, 2, 1])
AAAA = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1])
PTR12 = b"\xc0\x0c"  # compression pointer to the question name


def write(target, files):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.remove(os.path.join(d, f))
    for fname, data in files.items():
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(d, "seed-" + fname), "wb") as fh:
            fh.write(data)


def queries():
    q = question("www.example.com")
    return {
        "plain": header() + q,
        "edns": header(ar=1) + q + opt(),
        "edns-do-cd": header(flags=0x0110, ar=1) + q + opt(4096, do=True),
        "edns-ede-cookie": header(ar=1) + q + opt(options=struct.pack(">HH", 10, 8) + b"c" * 8),
        "edns-v1": header(ar=1) + q + opt(version=1),
        "two-opts": header(ar=2) + q + opt() + opt(),
        "opt-owner": header(ar=1) + q + b"\x03com\0" + opt()[1:],
        "chaos": header() + question("version.bind", 16, 3),
        "any": header() + question("example.com", 255),
        "axfr": header() + question("example.com", 252),
        "qtype-opt": header() + question("example.com", 41),
        "response": header(flags=0x8180) + q,
        "notify": header(flags=0x2000) + q,
        "qd2": header(qd=2) + q + q,
        "pointer": header() + b"\xc0\x0c\x00\x01\x00\x01",
        "trailing": header() + q + b"\0\0",
        "short": header()[:11],
        "root": header(ar=1) + question(".", 2) + opt(512),
        "long-name": header() + question(".".join(["a" * 63] * 3 + ["b" * 61])),
        "additional-a": header(ar=2) + q + rr("www.example.com", 1, A) + opt(),
        # local data (fuzz_query configures *.lan; the rest are built-in zones)
        "local-a": header(ar=1) + question("Router.LAN", 1) + opt(),
        "local-mx": header() + question("lan", 15),
        "local-any": header(ar=1) + question("lan", 255) + opt(4096, do=True),
        "local-cname": header() + question("www.lan", 28),
        "local-nxdomain": header() + question("nope.lan", 1),
        "local-nodata": header() + question("router.lan", 16),
        "localhost": header() + question("localhost", 1),
        "reverse-loopback": header() + question("1.0.0.127.in-addr.arpa", 12),
        "local-small-edns": header(ar=1) + question("lan", 16) + opt(100),
    }


def names():
    pkt = header() + question("www.example.com")  # name at offset 12
    return {
        # first byte: start offset (mod len) of the name inside the rest
        "plain": bytes([12]) + pkt,
        "pointer": bytes([29]) + pkt + b"\x04mail\xc0\x10",
        "pointer-chain": bytes([39]) + pkt + b"\x01a\xc0\x0c\x01b\xc0\x21",
        "self-pointer": bytes([29]) + pkt + b"\xc0\x1d",
        "forward-pointer": bytes([12]) + header() + b"\xc0\x20" + b"\0" * 20,
        "escapes": bytes([12]) + header() + b"\x04a.b\\\x03\x00\xff ", 
        "text": b"\0www.Example.COM.",
        "text-escapes": b"\0a\\.b.\\000\\255x.",
        "lookup": b"\0com\0example\0www\0",
        "root": b"\0\0",
        "max": bytes([0]) + name(".".join(["a" * 63] * 3 + ["b" * 61])),
    }


def cval_hdr(kind, aux, rank=0x15, sec=1, flags=0, stored=1700000000, ttl=300, used=1700000000):
    return struct.pack(">BBBBBBHIII", 2, kind, rank, sec, flags, 0, aux, stored, ttl, used)


def rrset_value(rdatas, sigs=(), rclass=1, **kw):
    r = b"".join(struct.pack(">H", len(x)) + x for x in rdatas)
    s = b"".join(struct.pack(">H", len(x)) + x for x in sigs)
    return cval_hdr(0, rclass, **kw) + struct.pack(">HHII", len(rdatas), len(sigs), len(r),
                                                   len(s)) + r + s


def neg_value(kind, zone="example.com", proof=b"", nproof=0, **kw):
    sd = soa()
    r = name(zone) + struct.pack(">H", len(sd)) + sd
    return cval_hdr(kind, 1, **kw) + struct.pack(">HHII", 1, nproof, len(r), len(proof)) + r + proof


def answer_msg():
    return (header(0, 0x8180, 1, 1, 0, 0) + question("www.example.com") +
            rr(PTR12, 1, A))


def answer_value(msg, qlen, ttl_offsets, **kw):
    return (cval_hdr(0, len(ttl_offsets), **kw) + struct.pack(">HH", len(msg), qlen) +
            b"".join(struct.pack(">H", o) for o in ttl_offsets) + msg)


def rrsig(covered=1, expire=1800000000):
    return struct.pack(">HBBIIIH", covered, 13, 3, 300, expire, 1690000000, 12345) + \
        name("example.com") + b"\x55" * 64


def cache_values():
    msg = answer_msg()
    qlen = len(name("www.example.com"))
    ttl_off = 12 + qlen + 4 + 2 + 4
    nsec = rr("example.com", 47, name("z.example.com") + b"\x00\x06\x40\x00\x00\x00\x00\x03")
    return {
        "rrset-a": rrset_value([A, bytes([192, 0, 2, 2])]),
        "rrset-ns": rrset_value([name("ns1.example.com"), name("ns2.example.net")]),
        "rrset-sig": rrset_value([A], [rrsig()]),
        "neg-nodata": neg_value(1),
        "neg-nxdomain-proof": neg_value(2, proof=nsec, nproof=1),
        "answer": answer_value(msg, qlen, [ttl_off]),
        "answer-bad-offset": answer_value(msg, qlen, [len(msg) - 2]),
        "key-rrset": b"com\0example\0www\0\0\0\x01",
        "key-answer": b"com\0example\0www\0\0\0\x01\x03",
        # a whole reply for the answer encoder
        "wire-answer": msg,
        "wire-nxdomain": (header(0, 0x8183, 1, 0, 1, 0) + question("nx.example.com") +
                          rr("example.com", 6, soa(), 3600)),
        "wire-opt": header(0, 0x8180, 1, 1, 0, 1) + question("www.example.com") +
        rr(PTR12, 1, A) + opt(),
        "wire-sig": header(0, 0x8180, 1, 2, 0, 0) + question("www.example.com") +
        rr(PTR12, 1, A) + rr(PTR12, 46, rrsig()),
    }


def cache_db():
    def entry(slot, value):
        return bytes([slot]) + struct.pack(">H", len(value)) + value

    def raw(sel, key, value):
        return bytes([sel, len(key)]) + key + struct.pack(">H", len(value)) + value
    msg = answer_msg()
    qlen = len(name("www.example.com"))
    ttl_off = 12 + qlen + 4 + 2 + 4
    ans = answer_value(msg, qlen, [ttl_off])
    ns = rrset_value([name("ns1.example.com")], rank=0x14)
    return {
        # slots: 0 www A, 1 www NXDOMAIN, 2 example.com, 3 com, 4 . delegations (NS), 5 example.com DS,
        # 6 www AAAA, 7 www CNAME, 8.. answers (www A, www A DO, example.com AAAA CD, com NS)
        "all-good": entry(0, rrset_value([A])) + entry(2, ns) + entry(3, ns) + entry(4, ns) +
        entry(5, rrset_value([b"\x30\x39\x0d\x02" + b"\xaa" * 32])) + entry(8, ans) +
        entry(9, ans),
        "negative": entry(1, neg_value(2)) + entry(6, neg_value(1)) + entry(10, ans),
        "stale-suspect": entry(0, rrset_value([A], flags=1, stored=1699990000)) +
        entry(8, answer_value(msg, qlen, [ttl_off], flags=1, stored=1699990000)),
        "truncated": entry(0, rrset_value([A])[:-1]) + entry(8, ans[:-3]) + entry(2, ns[:25]),
        "empty": entry(0, b"") + entry(8, b""),
        # raw keys (slot >= 0x80, 0x40 = answer DB): too short, bad lookup format, odd tail
        "raw-keys": raw(0x80, b"\1\2", rrset_value([A])) +
        raw(0xC0, b"COM\0\0\0\1\0", ans) + raw(0x80, b"com\0\0\0\0\x01", neg_value(2)) +
        raw(0xC0, b"\0\0\1", ans) + raw(0x80, b"com\0example\0\0\0\x02", ns),
        "big-answer": entry(8, answer_value(header(0, 0x8180, 1, 40, 0, 0) +
                                            question("www.example.com") +
                                            rr(PTR12, 1, A) * 40, qlen,
                                            [ttl_off + 16 * i for i in range(40)])),
    }


def configs():
    files = {}
    for f in ("vigil.conf", "router.conf"):
        with open(os.path.join(ROOT, "contrib", f), "rb") as fh:
            files[f] = fh.read()
    files["local-data"] = (
        'local-data: "host.lan. 300 A 10.0.0.1"\n'
        'local-data: "host.lan. 300 AAAA fd00::1"\n'
        'local-data: "lan. 300 MX 10 host.lan."\n'
        'local-data: "alias.lan. 300 CNAME host.lan."\n'
        'local-data: "_sip._udp.lan. 300 SRV 0 5 5060 host.lan."\n'
        'local-data: "lan. 300 TXT \\"hello\\" \\"world\\""\n')
    files["keys"] = ("listen: 127.0.0.1@5300\nworkers: 2\nallow: 10.0.0.0/8\ndeny: 10.1.0.0/16\n"
                     "rate-limit: 100\ncache-size: 64m\nforward: 192.0.2.53\n"
                     'forward-zone: "corp. 192.0.2.1 192.0.2.2@5353"\n'
                     "qname-minimisation: no\nlog-level: debug\n")
    files["errors"] = 'workers: lots\nlisten: 300.1.1.1\n"unterminated\n'
    files["pins"] = ('pin: "bank.example. A 203.0.113.0/24"\n'
                     'pin: "bank.example. AAAA 2001:db8:1::/48"\n'
                     'pin: "bank.example. NS dns-host.net."\n'
                     'pin: "bank.example. DS 12345"\n'
                     'pin: "bank.example. DS 8E6A3D2F2B0C1A9E7F5D4C3B2A1908F7"\n'
                     'pin-action: block\nnxdomain-rewrite: log\nforward-fallback: iterate\n')
    files["pin-errors"] = ('pin: bank.example. A 203.0.113.0/24\n'
                           'pin: "bank.example. MX 10.0.0.0/8"\n'
                           'pin: "bank.example. A 203.0.113.0/33"\n'
                           'pin: "bank.example. DS 12z"\nforward-fallback: maybe\n')
    files["hints"] = (".  3600000 NS A.ROOT-SERVERS.NET.\n"
                      "A.ROOT-SERVERS.NET. 3600000 A 198.41.0.4\n"
                      "A.ROOT-SERVERS.NET. 3600000 AAAA 2001:503:ba3e::2:30\n"
                      ". NS b.root-servers.net. ; comment\n"
                      "b.root-servers.net. A 170.247.170.2\n")
    return files


def replies():
    def reply(ctl, msg):
        return bytes([ctl]) + msg
    q = question("www.example.com")
    flags_aa = 0x8400
    ns_ex = rr("example.com", 2, name("ns1.example.com"), 172800)
    glue = rr("ns1.example.com", 1, A, 172800)
    # ctl: bit0 forwarder, bit1 EDNS, bit2 DO, bits 3..: labels of the qname in the zone
    return {
        "answer": reply(2 << 3, header(flags=flags_aa, an=1) + q + rr(PTR12, 1, A)),
        "referral-from-com": reply(1 << 3, header(flags=0x8000, ns=1, ar=2) + q + ns_ex + glue +
                                   opt()),
        "referral-from-root": reply(0, header(flags=0x8000, ns=1, ar=1) + q +
                                    rr("com", 2, name("a.gtld-servers.net")) +
                                    rr("a.gtld-servers.net", 1, A)),
        "cname-chain": reply(2 << 3, header(flags=flags_aa, an=3) + q +
                             rr(PTR12, 5, name("a.example.com")) +
                             rr("a.example.com", 5, name("b.example.net")) +
                             rr("b.example.net", 1, A)),
        "cname-loop": reply(2 << 3, header(flags=flags_aa, an=2) + q +
                            rr(PTR12, 5, name("a.example.com")) +
                            rr("a.example.com", 5, name("www.example.com"))),
        "dname": reply(2 << 3, header(flags=flags_aa, an=2) + q +
                       rr("example.com", 39, name("example.org")) +
                       rr(PTR12, 5, name("www.example.org"))),
        "nxdomain": reply(2 << 3, header(flags=0x8403, ns=1) + q +
                          rr("example.com", 6, soa(), 3600)),
        "nodata": reply(2 << 3, header(flags=flags_aa, ns=2) + q +
                        rr("example.com", 6, soa(), 3600) +
                        rr("www.example.com", 47, name("z.example.com") + b"\x00\x01\x40")),
        "out-of-bailiwick": reply(2 << 3, header(flags=flags_aa, an=2, ar=1) + q +
                                  rr(PTR12, 1, A) + rr("evil.net", 1, A) +
                                  rr("www.example.com", 28, AAAA)),
        "compressed-rdata": reply(2 << 3, header(flags=flags_aa, an=2) + q +
                                  rr(PTR12, 15, b"\x00\x0a\x04mail\xc0\x10") +
                                  rr(PTR12, 33, b"\0\0\0\0\x13\xc4\xc0\x0c")),
        "servfail": reply(2 << 3, header(flags=0x8182) + q),
        "tc": reply(2 << 3, header(flags=0x8600) + q),
        "extended-rcode": reply(2 << 3, header(flags=0x8400, ar=1) + q +
                                b"\0\0\x29\x04\xd0\x01\0\0\0\0\0"),
    }


def chunk(flags, an=b"", ns=b"", ar=b"", counts=None):
    """A reply as the resolver targets take it: u16 n, then header bytes 2..11 and sections."""
    c = counts or (len(an), len(ns), len(ar))
    body = b"".join(an) + b"".join(ns) + b"".join(ar)
    data = struct.pack(">HHHHH", flags, 1, *c) + body
    return struct.pack(">H", len(data)) + data


def resolver():
    """Sessions for fuzz_resolver: question byte, setup byte, then one chunk per query."""
    timeout = struct.pack(">H", 0)
    error = struct.pack(">H", 1) + b"\0"
    root_ns = [rr("", 2, name("a.root-servers.net"), 518400)]
    root_glue = [rr("a.root-servers.net", 1, bytes([198, 41, 0, 4]), 518400)]
    prime = chunk(0x8400, an=root_ns, ar=root_glue)
    to_com = chunk(0x8000, ns=[rr("com", 2, name("a.gtld-servers.net"), 172800)],
                   ar=[rr("a.gtld-servers.net", 1, bytes([192, 5, 6, 30]), 172800)])
    to_ex = chunk(0x8000, ns=[rr("example.com", 2, name("ns1.example.com"), 172800),
                              rr("example.com", 2, name("ns2.example.net"), 172800)],
                  ar=[rr("ns1.example.com", 1, bytes([93, 184, 216, 34]), 172800),
                      rr("ns1.example.com", 28, AAAA, 172800)])
    to_ex_glueless = chunk(0x8000, ns=[rr("example.com", 2, name("ns.example.net"), 172800)])
    ans_a = chunk(0x8400, an=[rr(PTR12, 1, bytes([93, 184, 216, 34]), 3600)])
    ans_any = chunk(0x8400, an=[rr(PTR12, 1, bytes([93, 184, 216, 34])),
                                rr(PTR12, 28, AAAA), rr(PTR12, 16, b"\x05hello")])
    cname_out = chunk(0x8400, an=[rr(PTR12, 5, name("cdn.example.net"))])
    cname_in = chunk(0x8400, an=[rr(PTR12, 5, name("web.example.com")),
                                 rr("web.example.com", 1, bytes([93, 184, 216, 35]))])
    nx = chunk(0x8403, ns=[rr("example.com", 6, soa(), 3600)])
    nodata = chunk(0x8400, ns=[rr("example.com", 6, soa(), 3600)])
    lame = chunk(0x8005)
    upward = chunk(0x8000, ns=root_ns, ar=root_glue)
    tc = chunk(0x8200)
    fwd_ans = chunk(0x8180, an=[rr(PTR12, 1, bytes([93, 184, 216, 34]))])
    dname = chunk(0x8400, an=[rr("example.com", 39, name("example.org")),
                              rr(PTR12, 5, name("www.example.org"))])
    def preload(entries):
        return struct.pack(">H", len(entries)) + entries

    def entry(slot, value):
        return bytes([slot]) + struct.pack(">H", len(value)) + value
    msg = answer_msg()
    qlen = len(name("www.example.com"))
    live = dict(stored=1700000000, ttl=3600, used=1700000000)
    cached = (entry(3, rrset_value([name("a.gtld-servers.net")], **live)) +
              entry(2, rrset_value([name("ns1.example.com")], **live)) +
              entry(12, rrset_value([bytes([93, 184, 216, 34])], **live)))
    sess = {
        "iterate-a": bytes([0x00, 0]) + prime + to_com + to_ex + ans_a * 4,
        "iterate-a-cache": bytes([0x80, 0]) + prime + to_com + to_ex + ans_a * 4,
        "iterate-noqmin": bytes([0x00, 1]) + prime + to_com + to_ex + ans_a,
        "iterate-aaaa-do": bytes([0x08 | 0x80, 4]) + prime + to_com + to_ex + ans_any * 3,
        "glueless": bytes([0x00, 0]) + prime + to_com + to_ex_glueless + to_com + to_ex +
        ans_a * 6,
        "cname-out": bytes([0x80, 0]) + prime + to_com + to_ex + cname_out + to_com + ans_a * 4,
        "cname-in": bytes([0x00, 1]) + prime + to_com + to_ex + cname_in * 3,
        "dname": bytes([0x00, 1]) + prime + to_com + to_ex + dname * 3,
        "nxdomain": bytes([0x80, 0]) + prime + to_com + to_ex + nx * 3,
        "nodata-mx": bytes([0x18, 1]) + prime + to_com + to_ex + nodata * 3,
        "timeouts": bytes([0x00, 0]) + timeout * 3 + error + prime + to_com + timeout + to_ex +
        ans_a,
        "lame-upward-tc": bytes([0x80, 1]) + prime + lame + upward + tc + to_com + to_ex + ans_a,
        "forward": bytes([0x00, 2]) + fwd_ans * 3,
        "forward-zone": bytes([0x80, 3]) + prime + fwd_ans * 4,
        "ptr-any": bytes([0x06 | (4 << 3), 0]) + prime + upward + ans_any * 3,
        "root-ns": bytes([0x03 | (2 << 3), 0]) + prime * 3,
        # start from a cache holding the cuts (setup bit 7 with the cache)
        "cached-cut": bytes([0x80, 0x80]) + preload(cached) + prime + ans_a * 4,
        "cached-cname": bytes([0x80, 0x81]) + preload(
            cached + entry(7, rrset_value([name("web.example.com")], **live))) + prime + ans_a * 4,
        "cached-answer": bytes([0x80, 0x80]) + preload(
            cached + entry(0, rrset_value([bytes([93, 184, 216, 34])], **live)) +
            entry(8, answer_value(msg, qlen, [12 + qlen + 4 + 2 + 4], **live))) + prime * 2,
        "cached-negative": bytes([0x80, 0x80]) + preload(
            cached + entry(1, neg_value(2, **live)) + entry(14, neg_value(2, **live))) + prime * 2,
        # second client joins, another asks example.com, prefetch: bits 4, 5, 6 of setup
        "clients": bytes([0x80, 0x70]) + prime + to_com + to_ex + ans_a * 8,
        "clients-noqmin": bytes([0x00, 0x71]) + prime + to_com + to_com + to_ex + to_ex +
        ans_a * 6,
    }
    return sess


# fuzz_upstream: names[] and types[] of fuzz_upstream.c (qname index, qtype index).
UP_NAMES = ["www.example.com", "example.com", "", "com"] + [
    "www.%s.faults.net" % m for m in ("ok", "twice", "wrongid", "wrongq", "wrongport", "case",
                                      "garbage", "oob", "nxns", "refloop", "upward", "tc")]
UP_TYPES = [1, 28, 2, 15, 255, 5, 16, 6]


def dgram(f, reply, extra=b""):
    """One datagram of fuzz_upstream: flag byte, its extra bytes, then the reply chunk."""
    return bytes([f]) + extra + reply


def upstream():
    """Hand-made sessions for fuzz_upstream: a forged datagram racing the real reply."""
    A66 = bytes([192, 0, 2, 66])
    prime = chunk(0x8400, an=[rr("", 2, name("a.root-servers.net"), 518400)],
                  ar=[rr("a.root-servers.net", 1, bytes([198, 41, 0, 4]), 518400)])
    to_com = chunk(0x8000, ns=[rr("com", 2, name("a.gtld-servers.net"), 172800)],
                   ar=[rr("a.gtld-servers.net", 1, bytes([192, 5, 6, 30]), 172800)])
    to_ex = chunk(0x8000, ns=[rr("example.com", 2, name("ns1.example.com"), 172800)],
                  ar=[rr("ns1.example.com", 1, bytes([127, 53, 2, 1]), 172800)])
    good = chunk(0x8400, an=[rr(PTR12, 1, A, 3600)])
    bad = chunk(0x8400, an=[rr(PTR12, 1, A66, 3600)])
    private = chunk(0x8400, an=[rr(PTR12, 1, bytes([10, 0, 0, 1]), 3600),
                                rr(PTR12, 1, bytes([192, 168, 1, 1]), 3600), rr(PTR12, 1, A, 3600)])
    one = lambda c: bytes([1]) + dgram(0, c)  # noqa: E731  one datagram, from the server
    sess = {
        # question 0 (www.example.com A), setup 1: no QNAME minimisation, no 0x20
        "plain": bytes([0, 1]) + one(prime) + one(to_com) + one(to_ex) + one(good) * 2,
        "wrongid-first": bytes([0, 1]) + one(prime) + one(to_com) + one(to_ex) +
        bytes([2]) + dgram(0x08, bad) + dgram(0, good),
        "wrongport-first": bytes([0, 0]) + one(prime) + one(to_com) + one(to_ex) +
        bytes([2]) + dgram(0x01, bad) + dgram(0, good) + one(good) * 3,
        "wrongaddr-first": bytes([0, 1]) + one(prime) + one(to_com) + one(to_ex) +
        bytes([2]) + dgram(0x02, bad) + dgram(0, good),
        "case-first": bytes([0, 0]) + one(prime) + one(to_com) + one(to_ex) +
        bytes([2]) + dgram(0x20, bad) + dgram(0, good) + one(good) * 4,
        "case-mask": bytes([0, 0]) + one(prime) + one(to_com) + one(to_ex) +
        bytes([2]) + dgram(0x30, bad, b"\x55") + dgram(0, good) + one(good) * 4,
        "wrongtype-first": bytes([0, 1]) + one(prime) + one(to_com) + one(to_ex) +
        bytes([2]) + dgram(0x40, bad) + dgram(0, good),
        "wrongname-first": bytes([0, 1]) + one(prime) + one(to_com) + one(to_ex) +
        bytes([2]) + dgram(0x50, bad) + dgram(0, good),
        "raw-question": bytes([0, 1]) + one(prime) + one(to_com) + one(to_ex) +
        bytes([2]) + dgram(0x60, bad, bytes([5]) + name("") + b"\0\1\0\1") + dgram(0, good),
        "no-question": bytes([0, 1]) + one(prime) + one(to_com) + one(to_ex) +
        bytes([3]) + dgram(0x70, bad) + dgram(0xF0, bad) + dgram(0, good),
        "own-id": bytes([0, 1]) + one(prime) + one(to_com) + one(to_ex) +
        bytes([2]) + dgram(0x0C, bad, b"\x12\x34") + dgram(0, good),
        "icmp-then-reply": bytes([0, 1]) + bytes([0x11]) + dgram(0, prime) + one(to_com) +
        one(to_ex) + one(good),
        "timeouts-errors": bytes([0, 0]) + bytes([0, 8, 0x18]) + one(prime) + one(to_com) +
        bytes([0]) + one(to_ex) + one(good) * 3,
        "forward-race": bytes([0, 2]) + bytes([3]) + dgram(0x08, bad) + dgram(0x01, bad) +
        dgram(0, chunk(0x8180, an=[rr(PTR12, 1, A, 3600)])),
        # setup bit 3: hijack checks, rebinding blocks (bit 4: logs) a private address
        "rebinding-block": bytes([0, 1 | 8]) + one(prime) + one(to_com) + one(to_ex) +
        one(private),
        "rebinding-log": bytes([0, 1 | 8 | 0x10]) + one(prime) + one(to_com) + one(to_ex) +
        one(private),
        "rebinding-forward-aaaa": bytes([1 << 4, 2 | 8]) + one(chunk(0x8180, an=[
            rr(PTR12, 28, bytes(15) + b"\1", 3600),
            rr(PTR12, 28, bytes([0x20, 1, 0xd, 0xb8]) + bytes(11) + b"\1", 3600)])),
    }
    return sess


LAB_STEPS = {
    # per fault zone: the servers a resolver without QNAME minimisation asks, in order
    "example.com": ["127.53.1.1", "127.53.2.1"],
    "faults.net": ["127.53.1.3", "127.53.2.11"],
}
LAB_FAULTD = {"ok": 1, "twice": 16, "wrongid": 6, "wrongq": 7, "wrongport": 8, "case": 15,
              "garbage": 5, "oob": 9, "nxns": 14, "refloop": 10, "upward": 12, "tc": 4}


def lab_datagrams(server, qname, qtype, wait=0.3):
    """Asks a lab server (EDNS 1232, RD clear) and returns every datagram that came back to the
    query's socket within `wait` seconds, as fuzz_upstream datagrams."""
    import random
    import select
    import socket
    qid = random.randrange(65536)
    q = question(qname, qtype)
    msg = header(qid, 0x0000, ar=1) + q + opt()
    out = b""
    n = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("0.0.0.0", 0))
        s.sendto(msg, (server, 53))
        end = __import__("time").monotonic() + wait
        while n < 7:
            left = end - __import__("time").monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            r, src = s.recvfrom(65535)
            if len(r) < 12:
                continue
            f, extra = 0, b""
            if src != (server, 53):
                f |= 1 if src[0] == server else 2
            rid = struct.unpack(">H", r[:2])[0]
            if rid == (qid + 1) & 0xFFFF:
                f |= 0x08
            elif rid != qid:
                f |= 0x0C
                extra += r[:2]
            rq = r[12:12 + len(q)]
            if rq == q:
                rest = r[12 + len(q):]
            elif rq == q.swapcase() and len(r) >= 12 + len(q):
                f |= 0x20
                rest = r[12 + len(q):]
            else:  # anything else verbatim: no question from the harness, QDCOUNT kept
                f |= 0xF0
                rest = r[12:]
            data = r[2:12] + rest
            out += dgram(f, struct.pack(">H", len(data)) + data, extra)
            n += 1
    return bytes([n]) + out


def lab_upstream():
    """Sessions for fuzz_upstream recorded from a running lab (tests/lab/lab.sh up): the
    replies, forged datagrams included, a resolver without QNAME minimisation gets for each
    name (setup 1), with the root priming first."""
    sess = {}
    for i, qn in enumerate(UP_NAMES):
        if not qn.endswith(".net") and qn != "www.example.com":
            continue
        for ti, qt in ((0, 1), (1, 28)):
            steps = [("127.53.0.1", "", 2), ("127.53.0.1", qn, qt)]
            if qn.endswith("faults.net"):
                mode = qn.split(".")[1]
                steps += [(a, qn, qt) for a in LAB_STEPS["faults.net"]]
                steps.append(("127.53.9.%d" % LAB_FAULTD[mode], qn, qt))
            else:
                steps += [(a, qn, qt) for a in LAB_STEPS["example.com"]]
            body = b"".join(lab_datagrams(a, n, t) for a, n, t in steps)
            sess["lab-%s-%d" % (qn.split(".")[1] if i >= 4 else "example", qt)] = \
                bytes([i | ti << 4, 1]) + body
    return sess


# Signed replies for fuzz_reply (the parser and scrubber the DNSSEC validator's input goes
# through first) and fuzz_dnssec (the validator core): (server, qname, qtype, labels of qname in the server's zone, file name).
# RRSIG, DNSKEY, DS, NSEC and NSEC3 in the answer, authority and additional sections, from the
# lab's signed root, org. and its signed children (docs/lab.md), asked with DO.
LAB_SIGNED = [
    ("127.53.0.1", ".", 48, 0, "root-dnskey"),
    ("127.53.0.1", ".", 2, 0, "root-ns"),
    ("127.53.0.1", "www.secure.org", 1, 0, "root-referral-ds"),
    ("127.53.0.1", "www.example.com", 1, 0, "root-referral-nsec-nods"),
    ("127.53.0.1", "nosuch", 1, 0, "root-nxdomain-nsec"),
    ("127.53.1.4", "www.secure.org", 1, 1, "org-referral-ds"),
    ("127.53.1.4", "www.example.org", 1, 1, "org-referral-nods"),
    ("127.53.1.4", "org", 48, 1, "org-dnskey"),
    ("127.53.1.4", "secure.org", 43, 1, "org-ds"),
    ("127.53.2.8", "www.secure.org", 1, 2, "secure-a"),
    ("127.53.2.8", "secure.org", 2, 2, "secure-ns-glue"),
    ("127.53.2.8", "secure.org", 48, 2, "secure-dnskey"),
    ("127.53.2.8", "nx.secure.org", 1, 2, "secure-nxdomain-nsec"),
    ("127.53.2.8", "www.secure.org", 16, 2, "secure-nodata-nsec"),
    ("127.53.2.8", "a.wild.secure.org", 1, 2, "secure-wildcard"),
    ("127.53.2.8", "www.nsec3.org", 1, 2, "nsec3-a"),
    ("127.53.2.8", "nx.nsec3.org", 1, 2, "nsec3-nxdomain"),
    ("127.53.2.8", "www.nsec3.org", 16, 2, "nsec3-nodata"),
    ("127.53.2.8", "www.rsa.org", 1, 2, "rsa-a"),
    ("127.53.2.8", "www.bogus.org", 1, 2, "bogus-a"),
    ("127.53.2.8", "www.badds.org", 1, 2, "badds-a"),
    ("127.53.2.8", "www.expired.org", 1, 2, "expired-a"),
]


def lab_signed():
    """fuzz_reply inputs recorded from a running lab: control byte (EDNS, DO, zone labels)
    and the signed reply as it came."""
    import random
    import socket
    out = {}
    for server, qn, qt, labels, fname in LAB_SIGNED:
        qid = random.randrange(65536)
        msg = header(qid, 0x0000, ar=1) + question(qn, qt) + opt(do=True)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(msg, (server, 53))
            try:
                r = s.recv(65535)
            except socket.timeout:
                raise SystemExit("no reply from %s for %s/%d: is the lab up?" % (server, qn, qt))
        out["lab-signed-" + fname] = bytes([2 | 4 | labels << 3]) + r
    return out


def main():
    import sys
    if sys.argv[1:] == ["--lab-signed"]:
        # The same replies for fuzz_dnssec, whose control byte is the zone's label count alone.
        for fname, data in lab_signed().items():
            for target, ctl in (("reply", data[0]), ("dnssec", data[0] >> 3)):
                with open(os.path.join(HERE, "corpus", target, fname), "wb") as fh:
                    fh.write(bytes([ctl]) + data[1:])
        return
    if sys.argv[1:] == ["--lab"]:
        # Only the lab-captured inputs; needs a running lab (root, a network namespace).
        d = os.path.join(HERE, "corpus", "upstream")
        for fname, data in lab_upstream().items():
            with open(os.path.join(d, fname), "wb") as fh:
                fh.write(data)
        return
    write("upstream", upstream())
    write("query", queries())
    write("name", names())
    write("cache_value", cache_values())
    write("cache_db", cache_db())
    write("config", configs())
    write("reply", replies())
    write("resolver", resolver())


if __name__ == "__main__":
    main()
