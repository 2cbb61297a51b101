package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// pemPKI writes a CA certificate (ca.pem) to dir and returns it with a
// certificate for dnsName signed by it, and that certificate with its key
// in one PEM file (a Kafka PEM key store).
func pemPKI(t *testing.T, dir, dnsName string) (caFile, keystore string, cert tls.Certificate) {
	t.Helper()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA " + dnsName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	must(err)
	caCert, err := x509.ParseCertificate(caDER)
	must(err)
	caFile = filepath.Join(dir, "ca.pem")
	must(os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: dnsName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{dnsName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	must(err)
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	must(err)
	keystore = filepath.Join(dir, "keystore.pem")
	must(os.WriteFile(keystore, append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...), 0o600))
	return caFile, keystore, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLSFromKafkaProperties: TLS configured with SCSt's Kafka properties
// (security.protocol, PEM trust and key stores, an empty
// ssl.endpoint.identification.algorithm) works; the empty algorithm skips
// the host name check only, never the chain; JKS stores are refused.
func TestTLSFromKafkaProperties(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The broker's certificate names another host than 127.0.0.1, and the
	// broker asks for a client certificate signed by the same CA.
	caFile, keystore, cert := pemPKI(t, dir, "broker.internal")
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c := kafkatest.Start(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}))
	otherCA, _, _ := pemPKI(t, t.TempDir(), "other")

	newB := func(t *testing.T, cfg map[string]any) stream.Binder {
		t.Helper()
		cfg["security.protocol"] = "SSL"
		b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
			Binder: map[string]any{"brokers": c.Brokers(), "dial-timeout": "2s", "configuration": cfg}})
		if err != nil {
			t.Fatal(err)
		}
		closeBinder(t, b)
		return b
	}
	bindFails := func(t *testing.T, b stream.Binder) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: uniqueTopic(t)}); err == nil {
			t.Fatal("bind succeeded")
		}
	}
	t.Run("PEM stores without the host name check", func(t *testing.T) {
		roundTrip(t, newB(t, map[string]any{"ssl.truststore.location": caFile, "ssl.truststore.type": "PEM",
			"ssl.keystore.location": keystore, "ssl.endpoint.identification.algorithm": ""}))
	})
	t.Run("host name checked by default", func(t *testing.T) {
		bindFails(t, newB(t, map[string]any{"ssl.truststore.location": caFile, "ssl.keystore.location": keystore}))
	})
	t.Run("chain checked without the host name check", func(t *testing.T) {
		bindFails(t, newB(t, map[string]any{"ssl.truststore.location": otherCA, "ssl.keystore.location": keystore,
			"ssl.endpoint.identification.algorithm": ""}))
	})
	t.Run("no client certificate", func(t *testing.T) {
		bindFails(t, newB(t, map[string]any{"ssl.truststore.location": caFile, "ssl.endpoint.identification.algorithm": ""}))
	})
	t.Run("refusals", func(t *testing.T) {
		jks := filepath.Join(dir, "truststore.jks")
		if err := os.WriteFile(jks, []byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2}, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: map[string]any{
			"configuration": map[string]any{"security.protocol": "SSL", "ssl.truststore.location": jks, "ssl.keystore.type": "PKCS12",
				"ssl.key.password": "x"}}})
		wantErrs(t, err, map[string]string{
			"stream.kafka.binder.configuration.ssl.truststore.location": "is not a PEM file",
			"stream.kafka.binder.configuration.ssl.keystore.type":       "PKCS12 is not supported",
			"stream.kafka.binder.configuration.ssl.key.password":        "encrypted private keys are not supported",
		})
		_, err = kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: map[string]any{
			"configuration": map[string]any{"ssl.truststore.location": caFile}}})
		wantErrs(t, err, map[string]string{"stream.kafka.binder.configuration.ssl.truststore.location": "TLS is used only with security.protocol SSL or SASL_SSL"})
		_, err = kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: map[string]any{
			"tls":           true,
			"configuration": map[string]any{"security.protocol": "SSL"}}})
		wantErrs(t, err, map[string]string{"stream.kafka.binder.configuration.security.protocol": "give it one way"})
	})
}
