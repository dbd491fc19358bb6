"""A tiny web app: each POST /visits stores a row in PostgreSQL and bumps a counter in
Redis; GET /visits shows both; GET /health answers when both backends do."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import redis

DSN = os.environ["DATABASE_URL"]


def db():
    conn = psycopg2.connect(DSN)
    conn.autocommit = True
    return conn


def cache() -> redis.Redis:
    # a client per request: a restarted Redis (tests restore its data) costs nothing
    return redis.Redis.from_url(os.environ["REDIS_URL"])


def migrate() -> None:
    with db() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS visits (id serial PRIMARY KEY, "
                    "at timestamptz NOT NULL DEFAULT now())")


class Handler(BaseHTTPRequestHandler):
    def reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            cache().ping()
            with db() as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
            return self.reply(200, {"status": "ok"})
        if self.path == "/visits":
            with db() as conn, conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM visits")
                rows = cur.fetchone()[0]
            return self.reply(200, {"rows": rows, "counter": int(cache().get("visits") or 0)})
        self.reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/visits":
            return self.reply(404, {"error": "not found"})
        with db() as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO visits DEFAULT VALUES")
        self.reply(201, {"counter": cache().incr("visits")})

    def log_message(self, fmt: str, *args) -> None:
        print(f"{self.address_string()} {fmt % args}", flush=True)


if __name__ == "__main__":
    migrate()
    print("web: listening on :8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
