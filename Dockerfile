# syntax=docker/dockerfile:1
# tls-tunnel in a container: built with the official Rust image, run on
# distroless/cc (glibc and libgcc only: no shell, no package manager) as the
# unprivileged user `nonroot` (uid 65532).
#
#   docker build -t tls-tunnel .
#   # TLS on 8443 in front of a plaintext service on the host's port 8080,
#   # with the self-signed default certificate (its fingerprint is logged):
#   docker run --rm -p 8443:8443 --add-host=host.docker.internal:host-gateway \
#       tls-tunnel server --listen [::]:8443 --target host.docker.internal:8080
#   # Services from a file (the default command), certificates beside it:
#   docker run --rm -p 443:8443 -v /srv/tls-tunnel:/etc/tls-tunnel:ro tls-tunnel
#
# The files mounted must be readable by uid 65532. Listen on ports >= 1024
# inside the container and publish them as you like (-p 443:8443).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target caches make rebuilds incremental; the binary is
# copied out of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p tls-tunnel \
    && cp target/release/tls-tunnel /usr/local/bin/tls-tunnel

# Debian 12 like the build stage, so the glibc the binary was linked against.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/tls-tunnel /usr/local/bin/tls-tunnel
USER 65532:65532
EXPOSE 8443
# SIGTERM (docker stop) drains established connections for up to
# drain_timeout (30 s by default): give `docker stop -t 40`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tls-tunnel"]
CMD ["--config", "/etc/tls-tunnel/tunnel.toml", "--foreground"]
