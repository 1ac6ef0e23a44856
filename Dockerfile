# Build a static binary, then run it as a non-root user on a minimal image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# -buildvcs stamps the commit that "intakebot version" prints (the build
# context must include .git for it; without it the commit shows "unknown").
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=auto -ldflags="-s -w" -o /out/intakebot ./cmd/intakebot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/intakebot /usr/local/bin/intakebot
USER nonroot:nonroot
# Listen on every interface inside the container. Set INTAKEBOT_REDIS_URL
# to keep state in Redis (without it, state lives in memory only).
ENV INTAKEBOT_HTTP_LISTEN=0.0.0.0:8080
# Survey links in mail start with web.base_url, the address reporters reach
# this container at (e.g. https://helpdesk.example.com). It is required
# here: serve refuses to start without it, since http.listen is not a
# loopback address and links to 0.0.0.0 would open nothing. Set it with
#   docker run -e INTAKEBOT_WEB_BASE_URL=https://helpdesk.example.com ...
# "intakebot config check" lists every problem of a configuration.
EXPOSE 8080
# The image has no shell and no curl: "intakebot health" asks /healthz on
# http.listen (a wildcard address is asked on loopback).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/intakebot", "health"]
ENTRYPOINT ["/usr/local/bin/intakebot"]
CMD ["serve"]
