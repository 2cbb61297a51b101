package main

import (
	"os"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestMain takes the RabbitMQ tests' virtual hosts from rabbittest's pool:
// made a batch at a time and deleted together when the tests end, one
// rabbitmqctl call each instead of three per test (each call starts an
// Erlang VM: about a second of CPU, several on a busy machine).
func TestMain(m *testing.M) { os.Exit(rabbittest.Main(m)) }
