#!/usr/bin/python3
"""Independent oracle for mimecat: Python's email package lists every leaf
part of a message as "SECTION TYPE SHA256-OF-DECODED-BODY", numbering the
parts as IMAP does (RFC 3501 6.4.5), computed here from Python's own tree."""
import email
import hashlib
import sys


def sub(num, i):
    return f"{num}.{i}" if num else str(i)


def part(p, num, out):
    ctype = p.get_content_type()
    if ctype in ("message/rfc822", "message/global") and p.is_multipart():
        message(p.get_payload(0), num, out)          # message/rfc822: N.1...
    elif p.get_content_maintype() == "message":
        # IMAP (and mimecat) open only message/rfc822; Python also parses
        # message/partial and external-body: their bytes are not compared
        out.append(f"{num} {ctype} -")
    elif p.is_multipart():
        for i, c in enumerate(p.get_payload(), 1):
            part(c, sub(num, i), out)
    else:
        body = p.get_payload(decode=True) or b""
        out.append(f"{num} {p.get_content_type()} {hashlib.sha256(body).hexdigest()}")


def message(m, num, out):
    if m.is_multipart() and m.get_content_maintype() == "multipart":
        for i, c in enumerate(m.get_payload(), 1):
            part(c, sub(num, i), out)
    else:
        part(m, sub(num, 1), out)                     # a non-multipart body is part 1


with open(sys.argv[1], "rb") as f:
    msg = email.message_from_bytes(f.read())      # no newline translation
lines = []
message(msg, "", lines)
print("\n".join(lines))
