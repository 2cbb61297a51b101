# streambind — the whole set-up on a fresh machine is `make demo` and `make test`.
GO      ?= go
PKGS    ?= ./...
BENCH   ?= .
BENCHTIME ?= 1s

.PHONY: all deps test vet bench demo demo-kafka demo-rabbit demo-nats demo-redis lint fuzz tidy

all: lint vet test

## deps: install and start what the tests need (RabbitMQ, NATS JetStream, Redis, amqp-tools, kcat).
deps:
	bash scripts/deps.sh

## test: the full suite with the race detector (what CI runs), with the
## RabbitMQ tests that close their own connections (tag ownconnfault).
## Test binaries run -p GOMAXPROCS at once (2 here): at -p 4 the suite was a
## minute faster but its time bounds failed under the load (3,000 sends in
## 10 s, a Kafka pipeline's commits in a minute).
## GORACE atexit_sleep_ms=0: a -race binary otherwise sleeps 1 s at exit
## (for goroutines still reporting); a race is still reported when found
## and still fails the test (exit status 66). About 1 s a package.
## The longest packages are named first: go test starts the test binaries
## in the order given, and with two at a time the suite ends sooner when the
## long ones do not start last (longest first; 11m04s -> 10m05s on
## 2026-12-06, nothing else running). ./... still lists every package once.
TESTFLAGS = -race -tags ownconnfault
SLOWFIRST = ./binder/kafka ./cmd/streambind ./binder/rabbit ./binder/nats ./binder/redis \
	./outbox ./stream ./idempotency ./cmd/demo ./e2e/scst ./e2e ./config ./binder/internal/dispatch
TESTPKGS ?= $(if $(filter ./...,$(PKGS)),$(SLOWFIRST) $(PKGS),$(PKGS))
test:
	GORACE="$(strip $(GORACE) atexit_sleep_ms=0)" $(GO) test $(TESTFLAGS) -count=1 -timeout 8m $(TESTPKGS)

## vet: go vet with the test build's flags, tests included (CI runs it
## after make test, whose compilation it shares from the build cache:
## about 45 s of CPU for the analysis alone; on a cold cache vet compiles
## every package with -race first, as make test would). make lint vets
## without -race or tags.
vet:
	$(GO) vet $(TESTFLAGS) $(PKGS)

## fuzz-short: 2,000 inputs of the configuration loader's fuzz test beyond its
## seed corpus (which make test runs); CI runs it after make test. Not in make
## test: its coverage-instrumented build of config and its dependencies takes
## 1-2 minutes on a cold cache, for 7 s of fuzzing.
## A short minimisation: a crash whose minimisation outlasts -fuzztime is
## reported as PASS. Budgets by count, not by time: Go 1.26's fuzzing
## coordinator can report a duration-bounded run that ends while a worker is
## busy as "context deadline exceeded", no crasher written
## (go.dev/issue/75804, fixed in 1.27); it failed CI so once.
.PHONY: fuzz-short
fuzz-short:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime 2000x -fuzzminimizetime 200x ./config

## bench: every benchmark with its baseline, printed with allocations.
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) $(PKGS)

## demo: the online shop on the in-process binder.
demo:
	$(GO) run ./cmd/demo --orders 5000 --poison-every 100

## demo-kafka: the shop on Kafka: KAFKA_BROKERS when set, else an embedded cluster.
demo-kafka:
	$(GO) run ./cmd/demo --profile kafka --orders 5000 --poison-every 100

## demo-rabbit: the shop on RabbitMQ (RABBIT_ADDRESSES, default 127.0.0.1:5672).
demo-rabbit:
	$(GO) run ./cmd/demo --profile rabbit --orders 5000 --poison-every 100

## demo-nats: the shop on NATS JetStream (NATS_URL, default nats://127.0.0.1:4222; names under DEMO_PREFIX).
demo-nats:
	$(GO) run ./cmd/demo --profile nats --orders 5000 --poison-every 100

## demo-redis: the shop on Redis Streams (REDIS_URL, default redis://127.0.0.1:6379; keys under DEMO_PREFIX).
demo-redis:
	$(GO) run ./cmd/demo --profile redis --orders 5000 --poison-every 100

## test-own-conn-faults: only the RabbitMQ tests that close their own connections (in a vhost of their own; make test runs them too).
.PHONY: test-own-conn-faults
test-own-conn-faults:
	$(GO) test -race -count=1 -p 1 -timeout 10m -tags ownconnfault -run Fault ./binder/rabbit/...

## test-broker-faults: broker-WIDE faults (stop_app, memory alarm): every client of the broker
## is disturbed. CI runs it after make test; run it only on a broker no one else uses.
.PHONY: test-broker-faults
test-broker-faults:
	STREAMBIND_BROKER_FAULTS=1 $(GO) test -race -count=1 -p 1 -timeout 10m -tags brokerfault -run BrokerFault ./binder/rabbit/...

## leftovers: what the tests left on the shared brokers and database (test vhosts, sbtest:* keys,
## outbox test schemas, JetStream streams); CI prints it after make test. Reports only.
.PHONY: leftovers
leftovers:
	@bash scripts/leftovers.sh

## lint: gofmt, go vet, and staticcheck when it can be installed.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -version >/dev/null 2>&1; then \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS); \
	else echo "staticcheck unavailable: skipped"; fi

## fuzz: a longer run of the config loader's fuzz target.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime 2m -fuzzminimizetime 10s ./config

tidy:
	$(GO) mod tidy
