# Build a static binary, then run it as a non-root user on a minimal image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/intakebot ./cmd/intakebot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/intakebot /usr/local/bin/intakebot
USER nonroot:nonroot
# Listen on every interface inside the container; set INTAKEBOT_REDIS_URL
# to keep state in Redis (without it, state lives in memory only).
ENV INTAKEBOT_HTTP_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/intakebot"]
CMD ["serve"]
