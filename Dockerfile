# Images for docker-compose.yml: the same deployment as ./flightops up, one
# container per process. Stages: build (compile, render the nginx config),
# pool (every flightops-<svc> binary), gateway (nginx), smtp (the mail sink).

FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
		build-essential cmake pkg-config libfcgi-dev libpq-dev libhiredis-dev \
		libjson-c-dev libjwt-dev libcrypt-dev libcurl4-openssl-dev libcmocka-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN rm -rf build* var \
	&& cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
	&& cmake --build /build -j "$(nproc)"
# As on a host: pools listen on unix sockets in /var/lib/flightops/sock (a
# volume shared with the gateway), so a pool not deployed is a 502, not a
# gateway that fails to start.
RUN FO_VAR=/var/lib/flightops FO_LISTEN_HOST=0.0.0.0 ./flightops nginx-config

FROM debian:12-slim AS pool
RUN apt-get update && apt-get install -y --no-install-recommends \
		libfcgi0ldbl libpq5 libhiredis0.14 libjson-c5 libjwt0 libcrypt1 libcurl4 \
		ca-certificates \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /build/bin/ /opt/flightops/bin/
COPY --from=build /src/sql/ /opt/flightops/sql/
RUN install -d -o nobody -g nogroup /var/lib/flightops/sock
USER nobody

FROM debian:12-slim AS gateway
RUN apt-get update && apt-get install -y --no-install-recommends nginx \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /var/lib/flightops/ /var/lib/flightops/
RUN mkdir -p /var/lib/flightops/log /var/lib/flightops/run \
	&& install -d -o nobody -g nogroup /var/lib/flightops/sock \
	&& ln -sf /dev/stderr /var/lib/flightops/log/nginx.log \
	&& ln -sf /dev/stdout /var/lib/flightops/log/nginx-access.log
EXPOSE 8080 8000 8001 8002 8003 8004
CMD ["nginx", "-g", "daemon off;", "-e", "stderr", "-c", "/var/lib/flightops/nginx/nginx.conf"]

FROM debian:12-slim AS smtp
RUN apt-get update && apt-get install -y --no-install-recommends python3-aiosmtpd \
	&& rm -rf /var/lib/apt/lists/*
RUN mkdir -p /var/mail/flightops && chown nobody /var/mail/flightops
USER nobody
EXPOSE 2525
CMD ["/usr/bin/python3", "-u", "-m", "aiosmtpd", "-n", "-l", "0.0.0.0:2525", \
	"-c", "aiosmtpd.handlers.Mailbox", "/var/mail/flightops"]
