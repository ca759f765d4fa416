import os, threading, queue, time
r, w = os.pipe()
out = []
def reader():
    data = b""
    while True:
        chunk = os.read(r, 100)
        if not chunk: break
        data += chunk
    out.append(data)
t = threading.Thread(target=reader); t.start()
for i in range(50):
    os.write(w, b"x%d," % i)
    time.sleep(0.001)
os.close(w); t.join()
print(len(out[0]), out[0][:20])
q = queue.Queue()
def prod():
    for i in range(1000): q.put(i)
    q.put(None)
threading.Thread(target=prod).start()
s = 0
while (v := q.get()) is not None: s += v
print(s)
import concurrent.futures, subprocess
with concurrent.futures.ThreadPoolExecutor(3) as ex:
    print(list(ex.map(lambda c: subprocess.run(["echo", c], capture_output=True).stdout, ["a", "b", "c"])))
