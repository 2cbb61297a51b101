package config

import (
	"strings"
)

// bootSectionEnvVar returns the key path that toks, the tokens of a
// variable under SPRING_KAFKA_ or SPRING_RABBITMQ_ that names no key the
// files or the framework have (bootEnvKeys, the client property maps of
// bootEnvVar), spell in Spring Boot's spring.kafka or spring.rabbitmq
// section: their first token the section's key, the others one key below
// it, joined by '-' (SPRING_KAFKA_CONSUMER_MAX_POLL_RECORDS is
// spring.kafka.consumer.max-poll-records, as Spring Boot binds it;
// kafkaConnection and rabbitConnection compare keys squashed, so
// MAXPOLLRECORDS is the same key). The section's rules then apply to the
// variable as to the file's key: read (spring.kafka.consumer.*,
// spring.kafka.ssl.*), ignored with a warning (spring.kafka.consumer.group-id,
// spring.rabbitmq.listener.*) or refused (spring.rabbitmq.ssl.key-store).
// These variables were ignored without a word, a value that a file's key
// would have set included. nil when toks name no such key.
func bootSectionEnvVar(toks []string) []pathSeg {
	if len(toks) < 3 || toks[0] != "SPRING" || hasEmpty(toks) {
		return nil
	}
	var root string
	switch toks[1] {
	case "KAFKA":
		root = "kafka"
	case "RABBITMQ":
		root = "rabbitmq"
	default:
		return nil
	}
	path := []pathSeg{keySeg("spring"), keySeg(root), keySeg(strings.ToLower(toks[2]))}
	if rest := toks[3:]; len(rest) > 0 {
		path = append(path, keySeg(strings.ToLower(strings.Join(rest, "-"))))
	}
	return path
}
