#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond Go, on a Debian
# machine: RabbitMQ (started if not running), amqp-tools and kcat for the
# interop tests. Kafka needs nothing: the tests use an in-process kfake.
set -euo pipefail
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

missing=()
command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
command -v amqp-publish >/dev/null || missing+=(amqp-tools)
command -v kcat >/dev/null || missing+=(kcat)
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	$sudo_cmd apt-get update -qq
	$sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

if ! rabbitmqctl -q status >/dev/null 2>&1; then
	echo "deps: starting RabbitMQ"
	$sudo_cmd rabbitmq-server -detached
	timeout 120 rabbitmqctl await_startup
fi
echo "deps: RabbitMQ $(rabbitmqctl -q version 2>/dev/null || echo '?'), kcat and amqp-tools ready"
