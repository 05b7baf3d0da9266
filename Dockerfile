# The gitops image: one binary that runs either controller (`gitops controller source`,
# `gitops controller kustomize`), as the Deployments of `gitops install` run it, and the CLI.
#
#   docker build -t gitops:0.1.0 .
#
# The image name and tag are what `gitops install` runs by default (`gitops:<version>`);
# push the image where the cluster pulls from and pass `--image` to install or bootstrap.

# Build stage: the workspace's minimum Rust (rust-version in Cargo.toml), the lock file as
# checked in. .cargo/config.toml comes along: it selects k8s-openapi's Kubernetes version.
FROM rust:1.89-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p gitops

# Runtime stage: git (gitops-git pushes with the git program, and the controllers fetch with
# gitoxide), ssh for ssh:// remotes, the CA roots for https:// remotes.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
    && rm -rf /var/lib/apt/lists/*
COPY --from=builder /src/target/release/gitops /usr/local/bin/gitops
# Flux's Deployments run as non-root with a read-only root file system: nobody, with /tmp
# and /data mounted as emptyDir volumes.
USER 65534:65534
ENTRYPOINT ["gitops"]
