#!/usr/bin/python3
"""Write the webmail test's INBOX into a Maildir: eight messages of distinct
dates and sizes (their arrival order differs from their Date order), two with
attachments, a thread of three (In-Reply-To/References).

usage: mkmail.py MAILDIR
"""
import os
import sys
from email.message import EmailMessage

# (subject, Date, arrival (mtime), body lines, attachments [(name, type, bytes)], in-reply-to index)
MAIL = [
    ("Welcome", "Mon, 02 Nov 2026 09:00:00 +0100", 1796000100, 1, [], None),
    ("Cheap watches", "Sun, 01 Nov 2026 03:12:00 +0000", 1796000900, 12, [], None),
    ("Field trip", "Thu, 05 Nov 2026 10:00:00 +0100", 1796000300, 4, [], None),
    ("Course material", "Wed, 04 Nov 2026 14:30:00 +0100", 1796000200, 3,
     [("syllabus.pdf", "application/pdf", b"%PDF-1.4\n" + bytes(range(256)) * 12),
      ("schedule.csv", "text/csv", b"week,topic\n1,SMTP\n2,MIME\n3,POP3 and IMAP\n")], None),
    ("Re: Field trip", "Fri, 06 Nov 2026 08:15:00 +0100", 1796000400, 6, [], 2),
    ("Big photo", "Tue, 03 Nov 2026 18:00:00 +0100", 1796000700, 2,
     [("photo.png", "image/png", b"\x89PNG\r\n\x1a\n" + os.urandom(30000))], None),
    ("Re: Re: Field trip", "Sat, 07 Nov 2026 11:45:00 +0100", 1796000500, 9, [], 4),
    ("Old note", "Tue, 14 Oct 2025 07:00:00 +0200", 1796000600, 20, [], None),
]


def main():
    md = sys.argv[1]
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    ids = []
    for i, (subject, date, mtime, lines, atts, parent) in enumerate(MAIL):
        m = EmailMessage()
        m["From"] = "Teacher <teacher@example.org>" if i != 1 else "Spam <deals@spam.example>"
        m["To"] = "bob@example.org"
        m["Subject"] = subject
        m["Date"] = date
        m["Message-ID"] = "<webmail.%d@example.org>" % i
        ids.append(m["Message-ID"])
        if parent is not None:
            m["In-Reply-To"] = ids[parent]
            refs = [ids[parent]]
            if MAIL[parent][5] is not None:
                refs.insert(0, ids[MAIL[parent][5]])
            m["References"] = " ".join(refs)
        text = "Please read the attached syllabus.\n" if atts else ""
        text += "".join("Line %d of message %d about %s.\n" % (n, i, subject) for n in range(lines))
        m.set_content(text)
        for name, ctype, data in atts:
            maintype, subtype = ctype.split("/")
            m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        path = os.path.join(md, "cur", "%d.M%dP1.webmail:2,S" % (mtime, i))
        with open(path, "wb") as f:
            f.write(bytes(m).replace(b"\n", b"\r\n"))
        os.utime(path, (mtime, mtime))


if __name__ == "__main__":
    main()
