#!/usr/bin/python3
"""dkimpy (Debian python3-dkim) as the DKIM oracle for the mailauth tests.

  dkimpy.py sign KEYFILE SELECTOR DOMAIN C_HEADER C_BODY < msg > signed
  dkimpy.py signall KEYFILE SELECTOR DOMAIN PREFIX < msg
                                        PREFIX-H-B.eml for the 4 canonicalizations
  dkimpy.py verify RECORDS < msg        prints pass or fail (exit 0 or 1)
  dkimpy.py verify RECORDS FILE...      prints "FILE pass|fail" for each
  dkimpy.py pubkey16384 > data          an RSA public key record of 16384 bits
  dkimpy.py arcsign KEYFILE SELECTOR DOMAIN SRVID < msg > sealed
  dkimpy.py arcverify RECORDS < msg     prints the chain: pass, fail or none

RECORDS is a file of "NAME TXT-DATA" lines: dkimpy gets its key from it
through its dnsfunc hook, so it needs no DNS server.  KEYFILE is a PEM key
(as mailauth keygen writes); an Ed25519 one is handed to dkimpy as the
base64 of its raw 32-byte seed, the form dkimpy reads."""
import base64
import secrets
import sys

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def load_key(path):
    data = open(path, "rb").read()
    key = serialization.load_pem_private_key(data, None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.private_bytes(serialization.Encoding.Raw,
                                serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        return base64.b64encode(raw), b"ed25519-sha256"
    return data, b"rsa-sha256"


def records(path):
    table = {}
    for line in open(path, "rb"):
        name, _, data = line.rstrip(b"\n").partition(b" ")
        table[name.rstrip(b".").lower()] = data
    return lambda name, timeout=5: table.get(name.rstrip(b".").lower())


def main():
    cmd = sys.argv[1]
    if cmd == "sign":
        keyfile, sel, dom, ch, cb = sys.argv[2:7]
        key, alg = load_key(keyfile)
        msg = sys.stdin.buffer.read()
        sig = dkim.sign(msg, sel.encode(), dom.encode(), key,
                        canonicalize=(ch.encode(), cb.encode()),
                        signature_algorithm=alg,
                        include_headers=[b"from", b"to", b"subject", b"date"])
        sys.stdout.buffer.write(sig + msg)
        return 0
    if cmd == "signall":
        keyfile, sel, dom, prefix = sys.argv[2:6]
        key, alg = load_key(keyfile)
        msg = sys.stdin.buffer.read()
        for ch in ("simple", "relaxed"):
            for cb in ("simple", "relaxed"):
                sig = dkim.sign(msg, sel.encode(), dom.encode(), key,
                                canonicalize=(ch.encode(), cb.encode()),
                                signature_algorithm=alg,
                                include_headers=[b"from", b"to", b"subject", b"date"])
                with open("%s-%s-%s.eml" % (prefix, ch, cb), "wb") as f:
                    f.write(sig + msg)
        return 0
    if cmd == "verify":
        dnsfunc = records(sys.argv[2])
        files = sys.argv[3:]
        allok = True
        for name in files or ["-"]:
            data = sys.stdin.buffer.read() if name == "-" else open(name, "rb").read()
            try:
                ok = dkim.DKIM(data).verify(dnsfunc=dnsfunc)
            except dkim.DKIMException as e:   # dkimpy raises for some bad keys
                print("dkimpy:", e, file=sys.stderr)
                ok = False
            print(("%s " % name if files else "") + ("pass" if ok else "fail"))
            allok = allok and ok
        return 0 if allok else 1
    if cmd == "arcsign":
        keyfile, sel, dom, srv = sys.argv[2:6]
        msg = sys.stdin.buffer.read()
        # dkimpy seals what the message's own Authentication-Results say
        msg = b"Authentication-Results: " + srv.encode() + b"; dkim=pass header.d=" + \
            dom.encode() + b"\r\n" + msg if b"Authentication-Results: " + srv.encode() \
            not in msg else msg
        fields = dkim.arc_sign(msg, sel.encode(), dom.encode(), open(keyfile, "rb").read(),
                               srv.encode())
        sys.stdout.buffer.write(b"".join(fields) + msg)
        return 0 if fields else 1
    if cmd == "arcverify":
        cv, _, why = dkim.arc_verify(sys.stdin.buffer.read(), dnsfunc=records(sys.argv[2]))
        print(cv.decode())
        if why:
            print("dkimpy:", why, file=sys.stderr)
        return 0 if cv == b"pass" else 1
    if cmd == "pubkey16384":
        n = secrets.randbits(16384) | (1 << 16383) | 1
        pub = rsa.RSAPublicNumbers(65537, n).public_key()
        der = pub.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
        print("v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())
        return 0
    print("dkimpy.py: unknown command", cmd, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
