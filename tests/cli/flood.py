# flood.py PORT: 300 connections from 127.0.0.1 held open (a third of them
# writing one byte every half second), then one client from 127.0.0.2: it
# must get its greeting within a second.  Prints what happened.
import socket, sys, threading, time

port = int(sys.argv[1])
socks, stop = [], threading.Event()
for i in range(300):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(s)
    except OSError as e:
        print("flood connect", i, e)
        break

def trickle(ss):
    while not stop.is_set():
        for s in ss:
            try:
                s.send(b"N")
            except OSError:
                pass
        stop.wait(0.5)

t = threading.Thread(target=trickle, args=(socks[::3],))
t.start()
time.sleep(0.5)     # the flood is in place (not a synchronisation: the check below is bounded)
start = time.time()
c = socket.socket()
c.bind(("127.0.0.2", 0))
c.settimeout(5)
c.connect(("127.0.0.1", port))
greeting = c.recv(512)
took = time.time() - start
print("greeting %r after %.2f s" % (greeting[:40], took))
turned = 0
for s in socks:
    s.setblocking(False)
    try:
        d = s.recv(512)
        if b"oo many connections" in d:
            turned += 1
    except OSError:
        pass
print("turned away", turned)
stop.set()
t.join()
for s in socks:
    s.close()
c.close()
