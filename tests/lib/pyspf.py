#!/usr/bin/python3
"""pyspf (Debian python3-spf) as the SPF oracle for the mailauth tests.

  pyspf.py PORT < cases       one "IP SENDER HELO" per line ("-": empty)

prints pyspf's result for each case, one per line, having asked the DNS
server on 127.0.0.1:PORT (the test's dnsmasq) through dnspython."""
import sys

import dns.resolver
import spf

res = dns.resolver.Resolver(configure=False)
res.nameservers = ["127.0.0.1"]
res.port = int(sys.argv[1])
res.lifetime = 10
dns.resolver.default_resolver = res

for line in sys.stdin:
    ip, sender, helo = line.split()
    sender = "" if sender == "-" else sender
    helo = "" if helo == "-" else helo
    result, _ = spf.check2(i=ip, s=sender, h=helo, querytime=20)[:2]
    print(result)
