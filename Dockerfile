# Builds parley-api, parley-worker and parley-admin into one small image.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bins

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/parley-api /src/target/release/parley-worker /src/target/release/parley-admin /usr/local/bin/
ENV PARLEY_BIND=0.0.0.0:8080 PARLEY_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
CMD ["parley-api"]
