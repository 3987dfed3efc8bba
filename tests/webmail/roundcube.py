#!/usr/bin/python3
"""Drive Debian's Roundcube in headless Chromium against maillab's imapd and
smtpd, checking what the browser shows against what imapd holds (imaplib).

usage: roundcube.py --web URL --imap PORT --user U --password P
                    --to ADDR --to-user U2 --to-password P2 --shots DIR --attach FILE

The servers and the web server are started by tests/cli/webmail.bats; this
script only plays the user in the browser and the checker over IMAP.  Every
step saves a screenshot NN-step.png in --shots; a failed step says which one
and what it saw (and keeps the screenshot of the moment it failed).
Waits are bounded (WebDriverWait), never fixed sleeps.
"""
import argparse
import email.utils
import imaplib
import os
import re
import sys
import shutil
import tempfile
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import JavascriptException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20          # seconds any one page condition may take (busy shared CI machine)


class StepFailed(Exception):
    pass


class Run:
    def __init__(self, args):
        self.a = args
        self.n = 0
        self.shots = []
        self.profile = tempfile.mkdtemp(prefix="webmail-chromium.")
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for o in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1400,900", "--no-first-run", "--disable-extensions",
                  "--user-data-dir=" + self.profile):
            opts.add_argument(o)
        self.d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.d.set_page_load_timeout(WAIT)

    def quit(self):
        self.d.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    # ---- browser helpers ----
    def shot(self, name):
        self.n += 1
        path = os.path.join(self.a.shots, "%02d-%s.png" % (self.n, name))
        self.d.save_screenshot(path)
        self.shots.append(path)

    def until(self, what, cond, secs=WAIT):
        try:
            # a page being replaced (login, send, logout) briefly has no rcmail
            return WebDriverWait(self.d, secs, poll_frequency=0.1,
                                 ignored_exceptions=(JavascriptException, StaleElementReferenceException)
                                 ).until(lambda d: cond())
        except TimeoutException:
            raise StepFailed("after %ds still not: %s" % (secs, what)) from None

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def idle(self):
        """Roundcube's page is loaded and no request of its own is running."""
        self.until("Roundcube idle", lambda: self.js(
            "return !!(window.rcmail && rcmail.env && rcmail.loaded !== false && !rcmail.busy"
            " && (!window.jQuery || jQuery.active == 0))"))

    def act_until(self, what, action, done, secs=WAIT):
        """Do action whenever Roundcube is not busy until done() holds: its
        commands are ignored while a request of its own (a preview loading)
        runs, so one try may be lost; action must be harmless to repeat."""
        def step():
            if done():
                return True
            if not self.js("return !!rcmail.busy"):
                action()
            return False
        self.until(what, step, secs)

    def listed_uids(self):
        self.idle()
        return [int(u) for u in self.js(
            "return $('#messagelist tbody tr').map(function(){return rcmail.message_list.get_row_uid(this)}).get()")]

    # ---- IMAP (the truth) ----
    def imap(self, user=None, password=None):
        m = imaplib.IMAP4("127.0.0.1", self.a.imap)
        m.login(user or self.a.user, password or self.a.password)
        return m


def headers_of(m, mbox="INBOX"):
    """uid -> (date, size, subject, flags, message-id) of every message in mbox."""
    m.select(mbox, readonly=True)
    typ, data = m.uid("FETCH", "1:*", "(UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (DATE SUBJECT MESSAGE-ID)])")
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta = item[0].decode()
        uid = int(re.search(r"UID (\d+)", meta).group(1))
        size = int(re.search(r"RFC822\.SIZE (\d+)", meta).group(1))
        flags = re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split()
        msg = email.message_from_bytes(item[1])
        date = email.utils.parsedate_to_datetime(msg["Date"]).timestamp()
        out[uid] = (date, size, msg["Subject"], flags, msg["Message-ID"])
    return out


def main():
    p = argparse.ArgumentParser()
    for o in ("--web", "--user", "--password", "--to", "--to-user", "--to-password", "--shots", "--attach"):
        p.add_argument(o, required=True)
    p.add_argument("--imap", type=int, required=True)
    a = p.parse_args()
    os.makedirs(a.shots, exist_ok=True)
    r = Run(a)
    step = "start"
    t0 = time.monotonic()
    try:
        m = r.imap()
        truth = headers_of(m)
        by_subject = {v[2]: k for k, v in truth.items()}

        step = "login"
        r.d.get(a.web)
        r.until("the login form", lambda: r.d.find_elements(By.ID, "rcmloginuser"))
        r.d.find_element(By.ID, "rcmloginuser").send_keys(a.user)
        r.d.find_element(By.ID, "rcmloginpwd").send_keys(a.password)
        r.shot("login-form")
        r.d.find_element(By.ID, "rcmloginsubmit").click()
        r.until("the INBOX list after login", lambda: r.d.find_elements(By.ID, "messagelist")
                and r.js("return window.rcmail && rcmail.env.task == 'mail' && rcmail.env.mailbox == 'INBOX'"))
        r.idle()
        r.shot("inbox")

        # Sorting: the same call the list options dialog's Save button makes.
        for col, key in (("date", 0), ("size", 1)):
            step = "sort by " + col
            for order in ("DESC", "ASC"):
                r.js("rcmail.set_list_options(null, arguments[0], arguments[1], 0)", col, order)
                r.until("list sorted by %s %s" % (col, order),
                        lambda: r.js("return rcmail.env.sort_col") == col and r.js("return rcmail.env.sort_order") == order)
                want = sorted(truth, key=lambda u: truth[u][key], reverse=(order == "DESC"))
                got = r.listed_uids()
                if got != want:
                    raise StepFailed("order by %s %s: Roundcube lists UIDs %s, imapd holds %s" % (col, order, got, want))
                r.shot("sorted-%s-%s" % (col, order.lower()))

        step = "threads"
        r.js("rcmail.set_list_options(null, 'date', 'ASC', 1)")
        r.until("threaded list", lambda: r.js("return rcmail.env.threading") in (1, True, "1"))
        r.listed_uids()
        r.js("rcmail.message_list.expand_all()")
        r.idle()
        parents = r.js("var o={}, rows=rcmail.message_list.rows; for (var u in rows) o[u]=rows[u].parent_uid||0; return o")
        root = by_subject["Field trip"]
        re1 = by_subject["Re: Field trip"]
        re2 = by_subject["Re: Re: Field trip"]
        want = {str(re1): str(root), str(re2): str(re1)}
        for child, parent in want.items():
            if str(parents.get(child)) != parent:
                raise StepFailed("thread: UID %s should hang under %s, Roundcube shows parents %s" % (child, parent, parents))
        r.shot("threads")
        r.js("rcmail.set_list_options(null, 'date', 'DESC', 0)")
        r.until("flat list again", lambda: r.js("return rcmail.env.threading") in (0, False, "0", None))
        r.listed_uids()

        step = "open a message with attachments"
        uid = by_subject["Course material"]
        r.d.get("%s?_task=mail&_mbox=INBOX&_uid=%d&_action=show" % (a.web, uid))
        r.until("the attachment list", lambda: r.d.find_elements(By.CSS_SELECTOR, "#attachment-list li"))
        names = [e.text for e in r.d.find_elements(By.CSS_SELECTOR, "#attachment-list li a.filename .attachment-name")] \
            or [e.text for e in r.d.find_elements(By.CSS_SELECTOR, "#attachment-list li")]
        joined = " ".join(names)
        for want_name in ("syllabus.pdf", "schedule.csv"):
            if want_name not in joined:
                raise StepFailed("attachment %s not shown; the page lists %r" % (want_name, names))
        body = r.d.find_element(By.ID, "messagebody").text
        if "Please read the attached syllabus" not in body:
            raise StepFailed("the message body is not shown: %r" % body[:200])
        r.shot("message-attachments")

        step = "search"
        r.d.get(a.web + "?_task=mail&_mbox=INBOX")
        r.until("the INBOX list", lambda: r.d.find_elements(By.ID, "messagelist"))
        r.listed_uids()
        box = r.d.find_element(By.CSS_SELECTOR, "#mailsearchform")
        box.send_keys("trip")

        def search():
            box.send_keys(Keys.ENTER)
        r.act_until("search results", search, lambda: r.js("return !!rcmail.env.search_request"))
        got = sorted(r.listed_uids())
        m.select("INBOX", readonly=True)
        want = sorted(int(x) for x in m.uid("SEARCH", None, "SUBJECT", "trip")[1][0].split())
        if got != want or not want:
            raise StepFailed("search 'trip': Roundcube lists UIDs %s, imapd's SEARCH SUBJECT finds %s" % (got, want))
        r.shot("search-trip")
        r.act_until("the whole INBOX again", lambda: r.js("rcmail.command('reset-search')"),
                    lambda: not r.js("return !!rcmail.env.search_request"))
        r.idle()

        step = "flag"
        victim = by_subject["Cheap watches"]
        r.until("the message's row", lambda: r.js("return !!rcmail.message_list.rows[arguments[0]]", victim))
        r.js("rcmail.message_list.select(arguments[0])", str(victim))
        r.act_until("the row marked flagged", lambda: r.js("rcmail.command('mark', 'flagged')"),
                    lambda: r.js("return $(rcmail.message_list.rows[arguments[0]].obj).hasClass('flagged')", victim))
        r.idle()
        r.shot("flagged")
        m.select("INBOX", readonly=True)
        fl = m.uid("FETCH", str(victim), "(FLAGS)")[1][0].decode()
        if "\\Flagged" not in fl:
            raise StepFailed("after flagging, imapd has %s" % fl)

        step = "move to Trash"
        mid = truth[victim][4]
        button = r.d.find_element(By.CSS_SELECTOR, "#toolbar-menu a.delete, a.button.delete")

        def delete():      # only while the victim is still the one selected
            if r.js("return rcmail.message_list.get_single_selection() == arguments[0]", str(victim)):
                button.click()
        r.act_until("the row gone from INBOX", delete,
                    lambda: not r.js("return !!rcmail.message_list.rows[arguments[0]]", victim))
        r.idle()
        r.shot("moved-to-trash")
        m.select("INBOX", readonly=True)
        left = m.uid("SEARCH", None, "HEADER", "Message-ID", mid)[1][0].split()
        if left:
            # Roundcube may only mark \Deleted in INBOX when MOVE is not used:
            # then the copy must be in Trash and the original deleted.
            fl = m.uid("FETCH", left[0].decode(), "(FLAGS)")[1][0].decode()
            if "\\Deleted" not in fl:
                raise StepFailed("the message is still in INBOX, not deleted: %s" % fl)
        m.select("Trash", readonly=True)
        found = m.uid("SEARCH", None, "HEADER", "Message-ID", mid)[1][0].split()
        if len(found) != 1:
            raise StepFailed("Trash holds %d copies of %s" % (len(found), mid))
        fl = m.uid("FETCH", found[0].decode(), "(FLAGS)")[1][0].decode()
        if "\\Flagged" not in fl or "\\Deleted" in fl:
            raise StepFailed("in Trash the message should be \\Flagged and not \\Deleted: %s" % fl)

        step = "compose and send with an attachment"
        r.d.get(a.web + "?_task=mail&_action=compose")
        r.until("the compose form", lambda: r.d.find_elements(By.ID, "compose-subject"))
        r.idle()
        to = r.d.find_element(By.CSS_SELECTOR, "#compose_to .recipient-input input")
        to.send_keys(a.to + ", ")
        r.d.find_element(By.ID, "compose-subject").send_keys("Sent from the webmail")
        r.d.find_element(By.ID, "composebody").send_keys("Hello from Roundcube, through smtpd.")
        fin = r.d.find_element(By.CSS_SELECTOR, "#uploadform input[type=file]")
        fin.send_keys(os.path.abspath(a.attach))
        base = os.path.basename(a.attach)
        r.until("the uploaded attachment in the list",
                lambda: any(base in e.text for e in r.d.find_elements(By.CSS_SELECTOR, "#attachment-list li"))
                and not r.d.find_elements(By.CSS_SELECTOR, "#attachment-list li.uploading"))
        r.idle()
        r.shot("compose")
        send = r.d.find_element(By.CSS_SELECTOR, "#layout-content .formbuttons .send, a.send, button.send")
        r.act_until("the message sent (back to the list)", send.click,
                    lambda: r.js("return !window.rcmail || rcmail.env.action != 'compose'"
                                 " || /sent successfully/.test(document.body.innerText)"))
        r.idle()
        r.shot("sent")
        m2 = r.imap(a.to_user, a.to_password)
        got = None
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not got:
            m2.select("INBOX", readonly=True)
            ids = m2.uid("SEARCH", None, "SUBJECT", '"Sent from the webmail"')[1][0].split()
            if ids:
                got = m2.uid("FETCH", ids[-1].decode(), "(BODY.PEEK[])")[1][0][1]
            else:
                m2.noop()
                time.sleep(0.2)      # polling bound by the deadline above
        if not got:
            raise StepFailed("the message never reached %s's INBOX" % a.to_user)
        msg = email.message_from_bytes(got)
        files = [part.get_filename() for part in msg.walk() if part.get_filename()]
        if base not in files:
            raise StepFailed("the delivered message has attachments %s, not %s" % (files, base))
        with open(a.attach, "rb") as f:
            if not any(part.get_payload(decode=True) == f.read() for part in msg.walk() if part.get_filename() == base):
                raise StepFailed("the delivered attachment differs from the file uploaded")
        m.select("Sent", readonly=True)
        if not m.uid("SEARCH", None, "SUBJECT", '"Sent from the webmail"')[1][0].split():
            raise StepFailed("Roundcube did not keep a copy in Sent (APPEND)")
        m2.logout()
        m.logout()

        step = "logout"
        r.act_until("logging out", lambda: r.js("rcmail.command('logout')"),
                    lambda: r.js("return !window.rcmail || rcmail.env.task == 'login'"))
        r.until("the login form again", lambda: r.d.find_elements(By.ID, "rcmloginuser"))
        r.shot("logged-out")
    except (StepFailed, AssertionError, imaplib.IMAP4.error, Exception) as e:
        try:
            r.shot("FAILED-" + re.sub(r"\W+", "-", step))
        except Exception:
            pass
        where = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == __file__]
        text = getattr(e, "msg", None) or str(e)      # WebDriver errors: the message, not the C++ stack
        print("webmail: step '%s' failed (%s line %s): %s" % (step, os.path.basename(__file__), where[-1] if where else "?", text),
              file=sys.stderr)
        r.quit()
        print("screenshots:\n  " + "\n  ".join(r.shots))
        return 1
    r.quit()
    print("webmail: every step passed in %.1fs" % (time.monotonic() - t0))
    print("screenshots:\n  " + "\n  ".join(r.shots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
