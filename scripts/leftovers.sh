#!/usr/bin/env bash
# Lists what the tests may have left on the shared brokers and database:
# test vhosts and exchanges on RabbitMQ, sbtest:* keys on Redis, outbox
# test schemas on PostgreSQL, and the JetStream streams on NATS (the tests
# name theirs after their destinations, so all are listed but the shop
# demo's: `make demo-nats` keeps (error_)streambind-demo_* on purpose, bounded by
# max-age 1h and max-msgs 100000, see cmd/demo). Every test
# cleans up after itself; a line here names one that did not. It reports
# and exits 0: other programs share these servers outside CI.
set -uo pipefail

report() { # report <what> <lines>
	if [ -n "$2" ]; then
		echo "!! leftover $1:"
		printf '%s\n' "$2" | head -20 | sed 's/^/   /'
	else
		echo "   no leftover $1"
	fi
}

if command -v rabbitmqctl >/dev/null; then
	report "RabbitMQ test vhosts" "$(timeout 30 rabbitmqctl -q list_vhosts name 2>/dev/null | grep '^streambind-test')"
	report "RabbitMQ test exchanges in /" "$(timeout 30 rabbitmqctl -q list_exchanges -p / name 2>/dev/null | grep 'rabbit-test')"
fi
if command -v redis-cli >/dev/null; then
	report "Redis sbtest:* keys" "$(timeout 30 redis-cli --scan --pattern 'sbtest:*' 2>/dev/null | head -20)"
fi
if command -v psql >/dev/null; then
	report "PostgreSQL outbox test schemas" "$(timeout 30 psql -h 127.0.0.1 -U postgres -d test -Atc "select nspname from pg_namespace where nspname like 'obx\_%'" 2>/dev/null)"
fi
# JetStream's stream names, asked for over the NATS protocol (no CLI needed).
streams=$(timeout 10 bash -c '
	exec 3<>/dev/tcp/127.0.0.1/4222 || exit 0
	printf "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"streambind-leftovers\"}\r\nSUB _INBOX.leftovers 1\r\nPUB \$JS.API.STREAM.NAMES _INBOX.leftovers 2\r\n{}\r\n" >&3
	while IFS= read -r -t 5 line <&3; do
		case "$line" in MSG*) IFS= read -r -t 5 payload <&3; echo "$payload"; break;; esac
	done' 2>/dev/null | grep -o '"streams":\[[^]]*\]' | grep -o '"[^"]*"' | grep -v '"streams"' | tr -d '"')
demo=$(printf '%s\n' "$streams" | grep -cE '^(error_)?streambind-demo_')
report "JetStream streams" "$(printf '%s\n' "$streams" | grep -vE '^(error_)?streambind-demo_')"
[ "$demo" -gt 0 ] && echo "   ($demo streambind-demo_* and error_streambind-demo_* streams of make demo-nats not listed: the demo keeps them, bounded)"
exit 0
