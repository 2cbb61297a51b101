package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// setupNATS registers the NATS JetStream binder (application-nats.yaml:
// NATS_URL, default nats://127.0.0.1:4222), recording its settings in log.
func setupNATS(log *binderLog) binderSetup {
	return registers(nats.Type, log.wrap(nats.New))
}

// natsConn is how --purge connects to a NATS binder's server.
type natsConn struct {
	servers                   []string // URLs, perhaps with user info
	username, password, token string
	credentials               string // .creds file
	tls                       bool
	domain                    string
}

// where names the servers without their secrets (redact.URL): a password
// in a URL's user info becomes ******, and so does user info without one
// (a token: nats://******@host).
func (c natsConn) where() string {
	out := make([]string, len(c.servers))
	for i, s := range c.servers {
		if u, err := url.Parse(s); err == nil {
			out[i] = redact.URL(u)
		} else {
			out[i] = redact.Value(s)
		}
	}
	return strings.Join(out, ",")
}

// secrets returns the password, the token and the secrets of the servers'
// user info.
func (c natsConn) secrets() []string {
	out := []string{c.password, c.token}
	for _, s := range c.servers {
		if u, err := url.Parse(s); err == nil && u.User != nil {
			p, ok := u.User.Password()
			if !ok {
				p = u.User.Username()
			}
			out = append(out, p, u.User.String())
		}
	}
	return out
}

// natsConnOf reads the connection settings of a NATS binder as the binder
// does (stream.nats.binder, then stream.binders.<name>.environment, which
// wins; keys compared as package props normalises them; the binder's
// defaults). Settings that only tune the connection are ignored; TLS
// settings other than "enabled" are refused (a tls:// server URL is
// honoured).
func natsConnOf(bs stream.BinderSettings) (natsConn, error) {
	c := natsConn{servers: []string{nats.DefaultServers}}
	var d props.Decoder
	for _, src := range props.BinderSources(bs, nats.Type) {
		d.Each(src.Path, src.Map, func(k, _ string, v any) (err error) {
			switch k {
			case "servers", "server", "url", "urls":
				var l []string
				if l, err = props.List(v); err != nil {
					return err
				}
				if len(l) == 0 {
					return errors.New("want at least one server URL")
				}
				for i, s := range l {
					if s = strings.TrimSpace(s); !strings.Contains(s, "://") {
						s = "nats://" + s
					}
					l[i] = s
				}
				c.servers = l
			case "username", "user":
				c.username, err = props.String(v)
			case "password":
				c.password, err = props.String(v)
			case "token":
				c.token, err = props.String(v)
			case "credentialsfile", "credentials", "creds":
				c.credentials, err = props.String(v)
			case "domain":
				c.domain, err = props.String(v)
			case "tls":
				c.tls, err = onlyTLSEnabled(v)
			}
			return err
		})
	}
	return c, d.Err()
}

// purgeNATS deletes the streams of dests on the server of a NATS binder
// with settings bs, and returns how many messages they held and where.
// A destination's stream is the one the binder would use: the stream named
// nats.StreamName(destination) is deleted (the binder makes it again,
// empty, when it binds); a stream of another name that captures the
// destination (one an operator made) is not deleted, only the
// destination's subjects purged from it. Missing streams are fine.
func purgeNATS(ctx context.Context, bs stream.BinderSettings, dests []string) (int, string, error) {
	c, err := natsConnOf(bs)
	if err != nil {
		return 0, "", err
	}
	where := c.where()
	secrets := c.secrets()
	opts := []natsgo.Option{natsgo.Name("streambind-demo-purge"), natsgo.Timeout(nats.DefaultConnectTimeout), natsgo.NoReconnect()}
	switch {
	case c.username != "":
		opts = append(opts, natsgo.UserInfo(c.username, c.password))
	case c.token != "":
		opts = append(opts, natsgo.Token(c.token))
	case c.credentials != "":
		opts = append(opts, natsgo.UserCredentials(c.credentials))
	}
	if c.tls {
		opts = append(opts, natsgo.Secure(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	nc, err := natsgo.Connect(strings.Join(c.servers, ","), opts...)
	if err != nil {
		return 0, where, fmt.Errorf("connect to %s: %w", where, hideSecrets(err, secrets...))
	}
	defer nc.Close()
	var js jetstream.JetStream
	if c.domain != "" {
		js, err = jetstream.NewWithDomain(nc, c.domain)
	} else {
		js, err = jetstream.New(nc)
	}
	if err != nil {
		return 0, where, fmt.Errorf("%s: %w", where, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	total := 0
	for _, dest := range dests {
		n, err := purgeNATSDestination(ctx, js, dest)
		total += n
		if err != nil {
			return total, where, fmt.Errorf("%s: destination %s: %w", where, dest, err)
		}
	}
	return total, where, nil
}

// purgeNATSDestination empties the stream of one destination (see
// purgeNATS).
func purgeNATSDestination(ctx context.Context, js jetstream.JetStream, dest string) (int, error) {
	name, err := js.StreamNameBySubject(ctx, dest)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// Partitions only (dest.<n>), or nothing at all.
		name, err = js.StreamNameBySubject(ctx, dest+".>")
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find its stream: %w", err)
	}
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	before := s.CachedInfo().State.Msgs
	if name == nats.StreamName(dest) {
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return 0, fmt.Errorf("delete stream %s: %w", name, err)
		}
		return int(before), nil
	}
	for _, subject := range []string{dest, dest + ".>"} {
		if err := s.Purge(ctx, jetstream.WithPurgeSubject(subject)); err != nil {
			return 0, fmt.Errorf("purge %s from stream %s: %w", subject, name, err)
		}
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	return int(before - info.State.Msgs), nil
}
