package rabbit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestTLSClientCertificateRefusedEndsStartUp: a TLS peer that requires a
// client certificate and refuses the one given (none, or one of another
// CA) refuses the client for good: a bind fails with an error that is not
// stream.ErrUnavailable (start-up ends at once, as the README says of a
// TLS handshake with a bad certificate) and that says what to check. With
// TLS 1.3 the refusal arrives after the client's side of the handshake,
// as an alert on the first read, which amqp091-go reports as
// `Exception (501) Reason: "remote error: tls: certificate required"`;
// with TLS 1.2 it ends the handshake. Both were taken for an unavailable
// broker and retried for the whole startup-timeout.
func TestTLSClientCertificateRefusedEndsStartUp(t *testing.T) {
	rabbittest.Require(t)
	vhost := rabbittest.VHost(t)
	dir := t.TempDir()
	ca, caKey := genCert(t, dir, "ca", nil, nil, true)
	srv, srvKey := genCert(t, dir, "server", ca, caKey, false)
	genCert(t, dir, "client", ca, caKey, false)
	other, otherKey := genCert(t, dir, "otherca", nil, nil, true)
	genCert(t, dir, "otherclient", other, otherKey, false)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	proxy := func(maxVersion uint16) int {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey}},
			ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12, MaxVersion: maxVersion,
		})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		t.Cleanup(func() { ln.Close(); wg.Wait() })
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Go(func() {
					defer c.Close()
					if err := c.(*tls.Conn).Handshake(); err != nil {
						return
					}
					up, err := net.Dial("tcp", rabbittest.Address())
					if err != nil {
						return
					}
					defer up.Close()
					done := make(chan struct{}, 2)
					go func() { io.Copy(up, c); done <- struct{}{} }()
					go func() { io.Copy(c, up); done <- struct{}{} }()
					<-done
				})
			}
		})
		return ln.Addr().(*net.TCPAddr).Port
	}
	ports := map[string]int{"TLS 1.3": proxy(0), "TLS 1.2": proxy(tls.VersionTLS12)}

	bind := func(port int, cert string) error {
		tlsCfg := map[string]any{"ca-file": filepath.Join(dir, "ca.pem"), "server-name": "localhost"}
		if cert != "" {
			tlsCfg["cert-file"] = filepath.Join(dir, cert+".pem")
			tlsCfg["key-file"] = filepath.Join(dir, cert+"-key.pem")
		}
		b, err := New(context.Background(), stream.BinderSettings{Name: "r", Type: Type, Logger: testLogger(), Environment: map[string]any{
			"addresses": "amqps://127.0.0.1:" + itoa(port), "virtual-host": vhost, "tls": tlsCfg, "connection-timeout": "5s"}})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "tlsref-out-0", Destination: "tlsref"})
		if err == nil {
			_ = p.Close(context.Background())
		}
		return err
	}

	for version, port := range ports {
		// The proxy works: with the right certificate the bind succeeds.
		if err := bind(port, "client"); err != nil {
			t.Fatalf("%s, with the client certificate: %v", version, err)
		}
		for _, cert := range []string{"", "otherclient"} {
			err := bind(port, cert)
			switch {
			case err == nil:
				t.Errorf("%s, client certificate %q: connected", version, cert)
			case errors.Is(err, stream.ErrUnavailable):
				t.Errorf("%s, client certificate %q: taken for an unavailable broker (start-up would retry): %v", version, cert, err)
			case !strings.Contains(err.Error(), "remote error: tls:") || !strings.Contains(err.Error(), "tls.cert-file"):
				t.Errorf("%s, client certificate %q: %v; want the alert and what to check", version, cert, err)
			}
		}
	}
}
