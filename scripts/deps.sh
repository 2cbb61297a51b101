#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond Go, on a Debian
# machine: RabbitMQ, NATS with JetStream, Redis and PostgreSQL (each started
# if not running; PostgreSQL gets the database "test", which the outbox
# tests use with trust authentication on 127.0.0.1), amqp-tools and kcat for
# the interop tests. Kafka needs nothing:
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
command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
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

if ! up 127.0.0.1 5432; then
	echo "deps: starting PostgreSQL"
	pg_version=$(ls /etc/postgresql | sort -V | tail -1)
	$sudo_cmd pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
	wait_up PostgreSQL 127.0.0.1 5432
fi
# psql as the postgres user: over the socket, whatever the TCP auth is.
pg_psql() { $sudo_cmd runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(pg_psql -c "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
	echo "deps: creating the PostgreSQL database test"
	pg_psql -c "CREATE DATABASE test"
fi
# The tests connect as postgres over 127.0.0.1 without a password: unless
# that works already, trust loopback TCP for the test database (a line of
# our own at the top of pg_hba.conf, then a reload — not a restart).
if ! PGPASSWORD="" psql -w -h 127.0.0.1 -U postgres -d test -qtAc "SELECT 1" >/dev/null 2>&1; then
	pg_hba=$(pg_psql -c "SHOW hba_file")
	echo "deps: trusting 127.0.0.1 for the database test (pg_hba.conf)"
	grep -q "streambind-test" "$pg_hba" ||
		$sudo_cmd sed -i "1i host test all 127.0.0.1/32 trust # streambind-test" "$pg_hba"
	pg_psql -c "SELECT pg_reload_conf()" >/dev/null
fi

echo "deps: RabbitMQ $(rabbitmqctl -q version 2>/dev/null || echo '?'), NATS, Redis, PostgreSQL, kcat and amqp-tools ready"
