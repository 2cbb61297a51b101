package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// TestKafkaListeningHintOnlyWhenUnreachable: send and tail add "is a Kafka
// broker listening…? … streambind kafka serve" only when no connection
// could be made. A broker that refuses the client's login, or whose
// listener speaks TLS to a plain client, plainly listens: the hint sent
// the user looking for a broker that was there.
func TestKafkaListeningHintOnlyWhenUnreachable(t *testing.T) {
	t.Parallel()
	const hint = "hint: is a Kafka broker listening"
	withTLS := kafkatest.Start(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, MinVersion: tls.VersionTLS12}))
	withSASL := kafkatest.Start(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "shop", "s3cr3t-Pa55"))
	const service = `stream:
  default-binder: kafka
  binders:
    kafka:
      type: kafka
      startup-timeout: 3s
      environment:
        brokers: ${KAFKA_BROKERS}
        dial-timeout: 1s
%s`
	const sasl = `        sasl:
          mechanism: PLAIN
          username: shop
          password: wr0ng-Pa55
`
	for _, tc := range []struct {
		name, brokers, extra string
	}{
		{"plain to a TLS listener", withTLS.Brokers(), ""},
		{"refused login", withSASL.Brokers(), sasl},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"application.yaml": strings.Replace(service, "%s", tc.extra, 1)})
			env := []string{"KAFKA_BROKERS=" + tc.brokers}
			for _, args := range [][]string{
				{"send", "--destination", "x", "{}"},
				{"tail", "--destination", "x", "--timeout", "5s"},
			} {
				r := runIn(t, dir, env, args...)
				if r.code != exitFailure || strings.Contains(r.stderr, hint) {
					t.Errorf("%v: exit status %d, stderr %q; want %d without %q", args, r.code, r.stderr, exitFailure, hint)
				}
			}
		})
	}
}

// selfSigned is a TLS certificate for 127.0.0.1 that no client trusts.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
