# Capture the first request bytes each client sends (one request per connection shown), answer a fixed 200.
import socket, sys
port=int(sys.argv[1]); n=int(sys.argv[2])
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(("127.0.0.1",port)); s.listen(128)
s.settimeout(10)
seen=0
while seen<n:
    try: c,_=s.accept()
    except socket.timeout: break
    c.settimeout(2)
    data=b""
    try:
        while b"\r\n\r\n" not in data:
            d=c.recv(4096)
            if not d: break
            data+=d
    except Exception: pass
    print(len(data), repr(data), flush=True)
    try: c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\nconnection: close\r\n\r\nHello, World!")
    except Exception: pass
    c.close(); seen+=1
