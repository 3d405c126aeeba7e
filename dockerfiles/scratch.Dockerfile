# A benchlab service on nothing: the static binary and the image metadata, no files besides.
#
# The build context holds one file, `service`: a statically linked service binary
# (x86_64-unknown-linux-gnu with `-C target-feature=+crt-static`). No shell is needed to
# build or to run this image.
FROM scratch
COPY service /service
# Numeric, since there is no /etc/passwd: the distroless `nonroot` user.
USER 65532:65532
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/service"]
