// Package e2e holds end-to-end tests that cross binders: one app with a
// Kafka binding (on an embedded kfake cluster) and a RabbitMQ binding (on
// the local broker), with tracing and the management endpoints. It has no
// code of its own.
package e2e
