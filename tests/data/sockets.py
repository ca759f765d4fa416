import socket, threading, os, array
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
port = srv.getsockname()[1]
def serve():
    c, a = srv.accept(); data = c.recv(100); c.sendall(data.upper()); c.close()
t = threading.Thread(target=serve); t.start()
cl = socket.create_connection(("127.0.0.1", port)); cl.sendall(b"hello"); print(cl.recv(100)); cl.close(); t.join()
a, b = socket.socketpair()
r, w = os.pipe()
a.sendmsg([b"fd here"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r]))])
msg, anc, flags, addr = b.recvmsg(100, socket.CMSG_SPACE(4))
fd = array.array("i", anc[0][2])[0]
os.write(w, b"through passed fd"); print(msg, os.read(fd, 100))
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); import sys, tempfile; path = os.path.join(tempfile.mkdtemp(), "s.sock")
if os.path.exists(path): os.unlink(path)
u.bind(path); v = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); v.sendto(b"dgram", path); print(u.recvfrom(100)[0]); os.unlink(path)
