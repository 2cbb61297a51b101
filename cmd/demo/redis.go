package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// setupRedis registers the Redis Streams binder (application-redis.yaml:
// REDIS_URL, default redis://127.0.0.1:6379), recording its settings in
// log.
func setupRedis(log *binderLog) binderSetup {
	return registers(redis.Type, log.wrap(redis.New))
}

// redisConn is how --purge connects to a Redis binder's server, and the
// binder's key prefix.
type redisConn struct {
	addr               string // host:port
	username, password string
	db                 int
	tls                bool
	keyPrefix          string
}

// where names the server without the password ("redis://u:******@h/0",
// redact.URL).
func (c redisConn) where() string {
	u := url.URL{Scheme: "redis", Host: c.addr, Path: "/" + strconv.Itoa(c.db)}
	if c.tls {
		u.Scheme = "rediss"
	}
	switch {
	case c.password != "":
		u.User = url.UserPassword(c.username, c.password)
	case c.username != "":
		u.User = url.User(c.username)
	}
	return fmt.Sprintf("%s (key prefix %q)", redact.URL(&u), c.keyPrefix)
}

// redisConnOf reads the connection settings and key prefix of a Redis
// binder as the binder does (stream.redis.binder, then
// stream.binders.<name>.environment, which wins; keys compared as package
// props normalises them; username, password and db given on their own win
// over those of url). Settings that only tune the connection are ignored;
// TLS settings other than "enabled" are refused (a rediss:// url is
// honoured).
func redisConnOf(bs stream.BinderSettings) (redisConn, error) {
	c := redisConn{addr: redis.DefaultAddress}
	var fromURL *goredis.Options
	var d props.Decoder
	for _, src := range props.BinderSources(bs, redis.Type) {
		d.Each(src.Path, src.Map, func(k, _ string, v any) (err error) {
			switch k {
			case "address", "addr", "host", "server":
				var a string
				if a, err = props.String(v); err != nil {
					return err
				}
				if _, _, e := net.SplitHostPort(a); e != nil {
					a = net.JoinHostPort(a, "6379")
				}
				c.addr = a
			case "url", "uri":
				var raw string
				if raw, err = props.String(v); err != nil {
					return err
				}
				if fromURL, err = goredis.ParseURL(strings.TrimSpace(raw)); err != nil {
					return errors.New("not a valid redis URL (not shown: it may hold a password)")
				}
			case "username", "user":
				c.username, err = props.String(v)
			case "password":
				c.password, err = props.String(v)
			case "db", "database":
				c.db, err = props.Int(v, 0)
			case "keyprefix", "prefix":
				c.keyPrefix, err = props.String(v)
			case "tls", "ssl":
				c.tls, err = onlyTLSEnabled(v)
			}
			return err
		})
	}
	if fromURL != nil {
		c.addr = fromURL.Addr
		if c.username == "" {
			c.username = fromURL.Username
		}
		if c.password == "" {
			c.password = fromURL.Password
		}
		if c.db == 0 {
			c.db = fromURL.DB
		}
		if fromURL.TLSConfig != nil {
			c.tls = true
		}
	}
	return c, d.Err()
}

// purgeRedis deletes the streams of dests — each destination's own stream
// and its partition streams (<destination>:<n>), under the binder's key
// prefix — on the server of a Redis binder with settings bs, with their
// consumer groups (the binder makes them again when it binds), and drops
// the destinations from the partition registry. Keys that are not streams
// are left alone. It returns how many entries the streams held and where.
func purgeRedis(ctx context.Context, bs stream.BinderSettings, dests []string) (int, string, error) {
	c, err := redisConnOf(bs)
	if err != nil {
		return 0, "", err
	}
	where := c.where()
	o := &goredis.Options{Addr: c.addr, Username: c.username, Password: c.password, DB: c.db,
		ClientName: "streambind-demo-purge", DialTimeout: 5 * time.Second, MaxRetries: -1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}}
	if c.tls {
		host, _, _ := net.SplitHostPort(c.addr)
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	}
	rc := goredis.NewClient(o)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	total := 0
	for _, dest := range dests {
		n, err := purgeRedisDestination(ctx, rc, c.keyPrefix, dest)
		total += n
		if err != nil {
			return total, where, fmt.Errorf("%s: destination %s: %w", where, dest, hideSecrets(err, c.password))
		}
	}
	return total, where, nil
}

// purgeRedisDestination deletes the streams of one destination (see
// purgeRedis).
func purgeRedisDestination(ctx context.Context, rc *goredis.Client, prefix, dest string) (int, error) {
	own := redis.StreamKey(prefix, dest, -1)
	keys := []string{own}
	var cursor uint64
	for {
		found, next, err := rc.Scan(ctx, cursor, globEscape(own)+":*", 1000).Result()
		if err != nil {
			return 0, fmt.Errorf("look for its partition streams: %w", err)
		}
		for _, k := range found {
			if _, err := strconv.ParseUint(strings.TrimPrefix(k, own+":"), 10, 31); err == nil {
				keys = append(keys, k)
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	total := 0
	for _, k := range keys {
		typ, err := rc.Type(ctx, k).Result()
		if err != nil {
			return total, fmt.Errorf("type of %s: %w", k, err)
		}
		if typ != "stream" {
			continue
		}
		n, err := rc.XLen(ctx, k).Result()
		if err != nil {
			return total, fmt.Errorf("length of %s: %w", k, err)
		}
		if err := rc.Unlink(ctx, k).Err(); err != nil {
			return total, fmt.Errorf("delete %s: %w", k, err)
		}
		total += int(n)
	}
	if err := rc.ZRem(ctx, prefix+redis.PartitionsKey, dest).Err(); err != nil && !strings.HasPrefix(err.Error(), "WRONGTYPE") {
		return total, fmt.Errorf("drop it from %s: %w", prefix+redis.PartitionsKey, err)
	}
	return total, nil
}

// globEscape escapes the characters SCAN's MATCH pattern treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
