package config

import "testing"

// TestSpringSecurityOAuth2Loads: spring.security.oauth2 is Spring Boot's
// namespace of OAuth2 clients and resource servers, a map, which a file
// of a Spring service holds. Since redact read oauth2 as oauth (9701f08)
// it was taken for one secret value given as a map and failed the load
// ("a secret is one value, a string: got a map"). A password given as a
// map is still refused.
func TestSpringSecurityOAuth2Loads(t *testing.T) {
	y := `spring:
  security:
    oauth2:
      client:
        registration:
          kafka:
            client-id: abc
  cloud:
    stream:
      bindings:
        audit-in-0:
          group: g
`
	mustLoad(t, Options{Data: []byte(y), Logger: discard})
	bad := `spring:
  rabbitmq:
    password:
      a: b
`
	if _, err := Load(Options{Data: []byte(bad), Logger: discard, Env: []string{}}); err == nil {
		t.Error("a password given as a map loaded")
	}
}
