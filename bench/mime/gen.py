#!/usr/bin/python3
"""Make the benchmark corpus: one large message with big attachments and many
small real-world-shaped messages (text, alternative with HTML, attachments,
forwards), deterministic (seeded), into the directory given."""
import base64
import os
import random
import sys
from email.message import EmailMessage
from email.policy import SMTP

out = sys.argv[1]
big_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 100
nsmall = int(sys.argv[3]) if len(sys.argv) > 3 else 300
rnd = random.Random(2026)
os.makedirs(os.path.join(out, "small"), exist_ok=True)


def words(n):
    vocab = "the mail chain relay header body boundary part message smtp imap pop " \
            "décodé été naïve über straße 日本 quoted printable base64".split()
    return " ".join(rnd.choice(vocab) for _ in range(n))


# the large one, written by hand in chunks so the generator stays small too
with open(os.path.join(out, "large.eml"), "wb") as f:
    f.write(b"From: Big Sender <big@example.org>\nTo: you@example.net\n"
            b"Subject: three big attachments\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n"
            b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"=_big\"\n\n"
            b"--=_big\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
            b"See the attachments.=0A\n")
    for i, share in enumerate((0.5, 0.3, 0.2)):
        size = int(big_mb * share * 1024 * 1024)
        f.write(b"--=_big\nContent-Type: application/octet-stream; name=\"data%d.bin\"\n"
                b"Content-Disposition: attachment; filename=\"data%d.bin\"\n"
                b"Content-Transfer-Encoding: base64\n\n" % (i, i))
        left = size
        while left > 0:
            n = min(left, 57 * 20000)
            f.write(base64.encodebytes(rnd.randbytes(n)))
            left -= n
    f.write(b"--=_big--\n")

for i in range(nsmall):
    m = EmailMessage()
    m["From"] = f"Sender {i} <s{i}@example.org>"
    m["To"] = "Reader <r@example.net>"
    m["Subject"] = words(6)
    m["Date"] = "Mon, 23 Nov 2026 10:00:00 +0000"
    m.set_content(words(rnd.randint(20, 400)))
    kind = i % 4
    if kind >= 1:
        m.add_alternative("<html><body><p>" + words(rnd.randint(20, 400)) + "</p></body></html>",
                          subtype="html")
    if kind >= 2:
        for k in range(rnd.randint(1, 3)):
            m.add_attachment(rnd.randbytes(rnd.randint(1000, 60000)), maintype="application",
                             subtype="octet-stream", filename=f"att{i}-{k}.bin")
    if kind == 3:
        inner = EmailMessage()
        inner["From"] = "fwd@example.com"
        inner["Subject"] = "forwarded " + words(3)
        inner.set_content(words(50))
        m.add_attachment(inner)
    with open(os.path.join(out, "small", f"m{i:04d}.eml"), "wb") as f:
        f.write(m.as_bytes(policy=SMTP.clone(linesep="\n")))
