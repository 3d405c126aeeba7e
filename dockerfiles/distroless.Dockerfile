# A benchlab service on distroless `cc`: glibc, libgcc, libssl, CA certificates and time zones,
# no shell, no package manager.
#
# The build context holds one file, `service`: the same static binary as in the other bases.
# BASE is the base image; `bench-runner bases` builds an equivalent from Debian packages when
# the upstream image can be neither found nor pulled, and passes its tag here.
ARG BASE=gcr.io/distroless/cc-debian12:nonroot
FROM ${BASE}
COPY service /service
USER 65532:65532
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/service"]
