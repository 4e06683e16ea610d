# syntax=docker/dockerfile:1
# Chat server image: `docker build -t chat-server .` (BuildKit, the default
# builder since Docker 23, is needed for the cache mounts below).

############################ build ############################
# No apt line: libpq and OpenSSL are built from source with the crates
# (pq-sys "bundled", openssl-sys "vendored"), SQLite too; the Rust image's C
# compiler, make and perl are all they need.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep the crates.io downloads and the compiled dependencies
# between builds, so a source change only recompiles the workspace crates.
# target/ lives in a cache mount, hence the copy out of it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p chat-server -p chat-cleanup -p chat-admin \
 && mkdir -p /out \
 && cp target/release/chat-server target/release/chat-cleanup target/release/chat-admin /out/

############################ runtime ############################
FROM debian:bookworm-slim
# The binaries link only glibc: libpq, OpenSSL and SQLite are built in, and the
# health check is `chat-server healthcheck` (no curl). tzdata: the zone files
# that `chat-cleanup --daily-at` reads for TZ (TZ=Europe/Paris needs
# /usr/share/zoneinfo/Europe/Paris).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tzdata \
 && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /usr/share/doc/* /usr/share/man/*
# The CA bundle, for TLS to PostgreSQL (sslmode=verify-full with
# sslrootcert=system) and Redis: the built-in OpenSSL reads SSL_CERT_FILE.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN groupadd --system --gid 10001 chat \
 && useradd --system --uid 10001 --gid chat --home-dir /data --no-create-home --shell /usr/sbin/nologin chat \
 && mkdir -p /data/db /data/uploads /data/logs \
 && chown -R chat:chat /data

COPY --from=build /out/chat-server /out/chat-cleanup /out/chat-admin /usr/local/bin/
COPY scripts/docker-entrypoint.sh /usr/local/bin/
COPY web/ /app/web/
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh

WORKDIR /app
ENV HOST=0.0.0.0 \
    PORT=5000 \
    DATABASE_URL=/data/db/chat_app.db \
    UPLOAD_DIR=/data/uploads \
    LOG_DIR=/data/logs \
    WEB_DIR=/app/web \
    CLEANUP_AT=02:00 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# Cleanup: Debian's cron daemon needs root and this container runs as `chat`,
# so the entrypoint starts `chat-cleanup --daily-at "$CLEANUP_AT"`, which stays
# running and cleans every day at CLEANUP_AT (local time; set TZ to change the
# zone, CLEANUP_AT=off to disable). CLEANUP_AT alone does not make chat-cleanup
# a scheduler, so ad hoc runs still run once: docker exec <ctr> chat-cleanup --dry-run
USER chat
VOLUME ["/data/db", "/data/uploads", "/data/logs"]
EXPOSE 5000
# The binary itself: exit 0 when http://127.0.0.1:$PORT/healthz answers 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["chat-server", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
