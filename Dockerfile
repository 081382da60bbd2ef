# Images for docker-compose.yml, one process per container. Stages: build
# (compile every pool binary, render the nginx config), pool (every
# flightops-<svc> binary and its migrations), gateway (nginx), samples (psql
# and the sample data). Every runtime image is debian:bookworm-slim.

FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
		build-essential cmake pkg-config libfcgi-dev libpq-dev libhiredis-dev \
		libjson-c-dev libjwt-dev libcrypt-dev libcurl4-openssl-dev nodejs npm \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Only the pools: the tests need a stack and are run outside images.
RUN rm -rf build* var \
	&& cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DFLIGHTOPS_TESTS=OFF \
	&& cmake --build /build -j "$(nproc)"
# The static files (openapi.json, /docs: Swagger UI from npm, pinned by
# web/docs/package-lock.json; the web app at /, built by Vite from web/app,
# pinned by web/app/package-lock.json) are rendered with the config.
# Pools listen on TCP port 9000 of their own container (under Swarm a
# volume is per node, so a unix socket could not be shared with nginx):
# the gateway's upstreams are <service>:9000, resolved when nginx starts.
RUN FO_VAR=/var/lib/flightops FO_LISTEN_HOST=0.0.0.0 FO_POOL_ADDR=@POOL@:9000 \
	./flightops nginx-config

# cgi-fcgi (libfcgi-bin) is the health check: it asks the pool's own port
# for /health over FastCGI.
FROM debian:bookworm-slim AS pool
RUN apt-get update && apt-get install -y --no-install-recommends \
		libfcgi0ldbl libpq5 libhiredis0.14 libjson-c5 libjwt0 libcrypt1 libcurl4 \
		ca-certificates libfcgi-bin \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /build/bin/ /opt/flightops/bin/
COPY --from=build /src/sql/ /opt/flightops/sql/
USER nobody
# 9100: the users pool's login lane (LOGIN_LISTEN, LISTEN's port + 100)
EXPOSE 9000 9100

FROM debian:bookworm-slim AS gateway
RUN apt-get update && apt-get install -y --no-install-recommends nginx libnginx-mod-nchan libnginx-mod-http-cache-purge curl \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /var/lib/flightops/ /var/lib/flightops/
RUN mkdir -p /var/lib/flightops/log /var/lib/flightops/run \
	&& ln -sf /dev/stderr /var/lib/flightops/log/nginx.log \
	&& ln -sf /dev/stdout /var/lib/flightops/log/nginx-access.log
EXPOSE 8080 8000 8001 8002 8003 8004 8005 8090
CMD ["nginx", "-g", "daemon off;", "-e", "stderr", "-c", "/var/lib/flightops/nginx/nginx.conf"]

# The optional sample-data step: psql and sql/<service>/seed.sql.
FROM debian:bookworm-slim AS samples
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /src/sql/ /opt/flightops/sql/
USER nobody
