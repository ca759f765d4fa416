import asyncio
async def handle(r, w):
    data = await r.readline(); w.write(data.upper()); await w.drain(); w.close()
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"echo me\n"); await w.drain(); print(await r.readline())
    w.close(); srv.close(); await srv.wait_closed()
    await asyncio.sleep(0.01); print("done")
asyncio.run(main())
