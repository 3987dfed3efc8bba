#!/usr/bin/python3
"""Python's email package doing what mimecat -t / -x -a do, for the benchmark:
list every part's type, or write every leaf part's decoded body to DIR."""
import email
import os
import sys

mode, outdir, files = sys.argv[1], sys.argv[2], sys.argv[3:]
for path in files:
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f)
    for n, part in enumerate(msg.walk()):
        if mode == "tree":
            print(part.get_content_type(), part.get_filename())
        elif not part.is_multipart():
            name = os.path.join(outdir, f"{os.path.basename(path)}-{n}")
            with open(name, "wb") as o:
                o.write(part.get_payload(decode=True) or b"")
