#!/usr/bin/python3
"""authheaders (Debian python3-authheaders) as the DMARC oracle for the
mailauth tests; it brings its own DKIM (dkimpy), SPF (pyspf) and
organizational-domain (publicsuffix2) code.

  dmarc_oracle.py PORT IP SENDER HELO FILE...   ("-" for no envelope)

prints "FILE RESULT" per message, RESULT being authheaders' dmarc= result
(pass, fail, none...), having asked the DNS server on 127.0.0.1:PORT (the
test's dnsmasq) through dnspython for everything."""
import re
import sys

import dns.resolver

res = dns.resolver.Resolver(configure=False)
res.nameservers = ["127.0.0.1"]
res.port = int(sys.argv[1])
res.lifetime = 10
dns.resolver.default_resolver = res

from authheaders import authenticate_message  # noqa: E402 (after the resolver is set)

ip, sender, helo = (None if a == "-" else a for a in sys.argv[2:5])
for path in sys.argv[5:]:
    msg = open(path, "rb").read()
    ar = authenticate_message(msg, "oracle.test", spf=ip is not None, ip=ip, mail_from=sender,
                              helo=helo, dkim=True, arc=False, dmarc=True)
    m = re.search(r"dmarc=(\w+)", ar)
    print(path, m.group(1) if m else "none")
