#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond Go, on a Debian
# machine: RabbitMQ, NATS with JetStream and Redis (each started if not
# running), amqp-tools and kcat for the interop tests. Kafka needs nothing:
# the tests use an in-process kfake cluster.
set -euo pipefail
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

missing=()
command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
command -v amqp-publish >/dev/null || missing+=(amqp-tools)
command -v kcat >/dev/null || missing+=(kcat)
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	$sudo_cmd apt-get update -qq
	$sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

# up HOST PORT: whether something listens there.
up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_up NAME HOST PORT: wait up to 60 s for a listener.
wait_up() {
	for _ in $(seq 1 600); do
		up "$2" "$3" && return 0
		sleep 0.1
	done
	echo "deps: $1 did not start on $2:$3" >&2
	return 1
}

if ! rabbitmqctl -q status >/dev/null 2>&1; then
	echo "deps: starting RabbitMQ"
	$sudo_cmd rabbitmq-server -detached
	timeout 120 rabbitmqctl await_startup
fi

if ! up 127.0.0.1 4222; then
	echo "deps: starting NATS with JetStream"
	nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
	$sudo_cmd mkdir -p /var/lib/nats-server
	$sudo_cmd start-stop-daemon --start --oknodo --background --exec "$nats_bin" -- \
		-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server
	wait_up NATS 127.0.0.1 4222
fi

if ! up 127.0.0.1 6379; then
	echo "deps: starting Redis"
	$sudo_cmd redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	wait_up Redis 127.0.0.1 6379
fi

echo "deps: RabbitMQ $(rabbitmqctl -q version 2>/dev/null || echo '?'), NATS, Redis, kcat and amqp-tools ready"
