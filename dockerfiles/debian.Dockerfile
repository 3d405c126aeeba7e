# A benchlab service on Debian bookworm-slim: a full userland with a shell and apt, for
# comparison with the smaller bases. Nothing is run at build time.
#
# The build context holds one file, `service`: the same static binary as in the other bases.
# BASE is the base image; `bench-runner bases` builds an equivalent from Debian packages when
# the upstream image can be neither found nor pulled, and passes its tag here.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
COPY service /service
# Numeric, so it needs no passwd entry: the distroless `nonroot` user.
USER 65532:65532
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/service"]
