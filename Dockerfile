# syntax=docker/dockerfile:1
#
# walletd's container image: built on Debian 12, run on Debian 12 slim with only the runtime
# libraries, as a non-root numeric user. The entrypoint is walletd (configured by environment
# variables only, see README.md); walletctl and migrations/ are in the image for the migrations
# Job (k8s/jobs/migrate). Nothing secret is in it: the shard URLs, Redis URL and API key hashes
# come from Kubernetes Secrets at run time. .dockerignore lets only the sources in.
#
#   docker build -t walletd:1.0.0 .
#
# Linted in CI (tests/deploy/test_dockerfile.py); not built there, since CI has no Docker engine.

FROM debian:12 AS build
# python3 and cmocka only because CMake configures the test tree too; the image builds two
# targets and ships neither. Package versions are not pinned (linter rule ER0012): Debian 12's
# security updates replace them, so pins would break the build; the base image tag (a digest in
# production) fixes the set.
# linter ignore=ER0012
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config python3-minimal libcmocka-dev \
        libmicrohttpd-dev libmariadb-dev libhiredis-dev libjansson-dev libsodium-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DWALLETD_WERROR=ON \
    && cmake --build build -j"$(nproc)" --target walletd walletctl

FROM debian:12-slim
# linter ignore=ER0012
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libmariadb3 libhiredis0.14 libjansson4 libsodium23 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 walletd \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin walletd
COPY --from=build /src/build/walletd /src/build/walletctl /usr/local/bin/
COPY --from=build /src/migrations/ /usr/share/walletd/migrations/
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 3000 9000
# walletd is PID 1: its master reaps its workers and drains on SIGTERM by itself.
ENTRYPOINT ["/usr/local/bin/walletd"]
