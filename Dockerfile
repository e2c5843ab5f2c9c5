# CareLab in a container: `docker build -t carelab .` then
# `docker run --rm -it carelab` runs the tour.
#
# Two stages: the Rust toolchain builds the release binary (about as long as
# a native cold build: minutes, not seconds); the runtime image is slim
# Debian with only the binary and the files a learner reads.
# tests/it/container.rs checks this file offline: every COPY source exists,
# the EXPOSEd ports are the CLI's, and the runtime stage installs every
# shared library the binary links.

FROM rust:1.88-bookworm AS build
# The guide's and the labs' sources are compiled into the binary; no path
# of this stage is needed at run time.
WORKDIR /opt/carelab
COPY Cargo.toml Cargo.lock ./
# Build settings (SQLite's optional parts left out of its compile).
COPY .cargo .cargo
COPY benches benches
COPY src src
COPY assets assets
COPY datasets datasets
COPY labs labs
COPY book book
COPY sql sql
RUN cargo build --release --locked --bin carelab

FROM debian:bookworm-slim AS runtime
# What `ldd carelab` lists: glibc (libc, libm) and libgcc_s. Both are in the
# slim image already; naming them keeps that true if the base image changes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libc6 libgcc-s1 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 --shell /bin/bash carelab
COPY --from=build /opt/carelab/target/release/carelab /usr/local/bin/carelab
# Completions and the manual page, made by the binary from its own flags.
RUN mkdir -p /usr/share/bash-completion/completions /usr/local/share/man/man1 \
 && carelab completions bash > /usr/share/bash-completion/completions/carelab \
 && carelab man > /usr/local/share/man/man1/carelab.1
# The guide's HTML, built by the binary from the sources inside it
# (learners' edition, without the instructor part, in book/learner/).
RUN carelab book --out /opt/carelab/book
COPY --chown=carelab:carelab labs /opt/carelab/labs
COPY --chown=carelab:carelab datasets /opt/carelab/datasets
USER carelab
WORKDIR /home/carelab
# 8080: `carelab serve` (its default --addr port; in a container pass
#       --addr 0.0.0.0:8080 so the port mapping reaches it).
# 3000: the book, `carelab book --serve --addr 0.0.0.0:3000` (its default
#       --addr is 127.0.0.1:3000, which a port mapping cannot reach).
EXPOSE 8080 3000
CMD ["carelab", "tour"]
