package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// IsConnectionKey reports whether a key path or a placeholder name
// (PG_DSN, idempotency.postgres.dsn, db.connection-string) names a
// connection string: a secret by [IsSecretKey] whose value holds its
// secrets (a password, a token) among parts that are not (the scheme, the
// user, the host, the database), as its last word says: dsn or ending in
// dsn, connection-string, connstr, connstring.
func IsConnectionKey(key string) bool {
	if !IsSecretKey(key) {
		return false
	}
	path := strings.Split(key, ".")
	ws := words(path[len(path)-1])
	if len(ws) == 0 {
		return false
	}
	w := ws[len(ws)-1]
	switch {
	case strings.HasSuffix(w, "dsn"), strings.HasSuffix(w, "connectionstring"), w == "connstr", w == "connstring":
		return true
	case w == "string" && len(ws) > 1 && (ws[len(ws)-2] == "connection" || ws[len(ws)-2] == "conn"):
		return true
	}
	return false
}

// ConnectionSecrets returns the secrets in s, the value of a connection
// string ([IsConnectionKey]): the texts [Value] hides in it (URL
// passwords, NATS tokens, password=... pairs, user:pw@host), a URL
// password also percent-decoded, and the user of an http(s) URL without
// a password (a Sentry DSN's key). A text with no URL, user info or
// name=value pair in it is opaque, and is returned whole. The scheme,
// user, host and database are not secrets: registered as secret values
// (config.Loaded.Secrets) they hid every "postgres" of a message.
func ConnectionSecrets(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	if !strings.ContainsAny(s, "@=") && !strings.Contains(s, "://") {
		return []string{s}
	}
	var out []string
	add := func(t string) {
		if t != "" && t != Redacted {
			out = append(out, t)
		}
	}
	for _, re := range []*regexp.Regexp{pemBlock, natsBlock, nkeySeed} {
		for _, t := range re.FindAllString(s, -1) {
			add(t)
		}
	}
	t := pem(s)
	var m mask
	m.init(len(t))
	urls(t, &m, false)
	userInfo(t, &m, false)
	pairs(t, &m, false)
	authSchemes(t, &m)
	for i := 0; i < len(t); {
		if !m.hide[i] {
			i++
			continue
		}
		j := i
		for j < len(t) && m.hide[j] {
			j++
		}
		run := t[i:j]
		add(run)
		if dec, err := url.PathUnescape(run); err == nil && dec != run {
			add(dec)
		}
		i = j
	}
	if len(out) == 0 && !connectionShaped(t) {
		// Nothing parsed out of a text that is no URL, user@host or
		// name=value list (a base64 key's '=' padding): it is opaque, and
		// hidden whole, as hiding more is preferred to leaking.
		return []string{s}
	}
	// A Sentry DSN (https://KEY@o0.ingest.sentry.io/1) carries its key as
	// the user; a database's or broker's URL, a role name.
	for _, f := range strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ' ' }) {
		u, err := url.Parse(f)
		if err != nil || u.User == nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		if _, ok := u.User.Password(); !ok {
			add(u.User.Username())
		}
	}
	return out
}

// pairStart matches a name=value pair whose value starts with something
// other than '=' (base64 padding, "a2V5==", is no pair).
var pairStart = regexp.MustCompile(`(?:^|[\s;&?])[A-Za-z_][A-Za-z0-9_.\-]*\s*=\s*[^=\s;&]`)

// connectionShaped reports whether s has the shape of a connection string
// without a secret in it: a URL, user@host or a name=value pair.
func connectionShaped(s string) bool {
	return strings.Contains(s, "://") || lastHostAt(s, 1, len(s)) > 0 || pairStart.MatchString(s)
}
