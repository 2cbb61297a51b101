package redact

import (
	"net/url"
	"strings"
)

// URL returns u as [url.URL.String] writes it, for logs and errors, with
// the password of its user info replaced by [Redacted] as it is
// ("amqp://guest:******@host:5672/vh"): url.UserPassword(name, Redacted)
// would be written escaped ("%2A%2A%2A%2A%2A%2A"). The rest is kept as
// String writes it, except that
//
//   - a lone user info is hidden whole in a URL whose scheme is NATS's
//     (nats, tls, ws, wss: "nats://******@host", the token form), as
//     [String] hides it; elsewhere it is a user name and is shown;
//   - an empty password stays empty ("amqp://guest:@host": nothing is
//     hidden, and it tells the user the password is empty);
//   - the query loses the values of secret names as [Value] hides them
//     (?user=u&password=******);
//   - an opaque URL ("amqp:u:pw@host", which holds no user info for
//     net/url) is passed through [Value] whole.
//
// A URL with an '@' after its authority (in its path, query or fragment)
// is written with all from "://" to its last '@' as [Redacted]: it is what
// a password with an unencoded '/', '?' or '#' parses as
// (amqp://u:12345/secret@h: host "u", port 12345, path "/secret@h").
//
// A nil u gives "".
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	if s, ok := atAfterAuthority(u.String()); ok {
		return s
	}
	if u.Opaque != "" {
		return Value(u.String())
	}
	c := *u
	if c.RawQuery != "" {
		c.RawQuery = Value(c.RawQuery)
	}
	if c.User == nil {
		return c.String()
	}
	name := c.User.Username()
	pw, has := c.User.Password()
	switch {
	case has && pw != "":
		c.User = url.UserPassword(name, "x")
	case !has && name != "" && tokenSchemes[strings.ToLower(c.Scheme)]:
		c.User = url.User("x")
	default:
		return c.String()
	}
	// String writes [scheme:]//userinfo@host...: put Redacted where the
	// one-byte stand-in is.
	pre := "//" + c.User.String() + "@"
	if c.Scheme != "" {
		pre = c.Scheme + ":" + pre
	}
	s := c.String()
	if !strings.HasPrefix(s, pre) {
		return Value(u.String()) // not as expected: hide more, never less
	}
	return pre[:len(pre)-2] + Redacted + s[len(pre)-1:]
}

// StringWith returns free text s (an error message, a log line) with the
// given secret values (a binder's password, token, a whole URI that holds
// one) hidden, and then everything [String] hides: URL passwords, NATS
// tokens, user:pw@host, secret name=value pairs, credentials.
//
// The values are looked for as [Values.String] looks for them. A value of
// at least 4 bytes is hidden wherever it occurs (ASCII letters compared
// regardless of case). A shorter one — a one-letter password "a" — is
// hidden only where it is the whole text or stands in quotes (got "a"):
// replacing every "a" of a message mangled it, and told what the password
// was. Where a password stands as a password it is hidden whatever its
// length, by String's rules: in a URL's user info ("amqp://u:a@host" →
// "amqp://u:******@host", also escaped or holding '@', ':' or '%'), in
// user:a@host, and in a password=a (secret=, token=, ...) pair.
// Empty values are ignored.
func StringWith(s string, secrets ...string) string {
	var v Values
	for _, sec := range secrets {
		v.Add(sec)
	}
	return String(v.String(s))
}

// atAfterAuthority returns s with all from "://" to its last '@' hidden,
// and true, when s has an '@' after its authority (which ends at the first
// '/', '?' or '#' after "://").
func atAfterAuthority(s string) (string, bool) {
	i := strings.Index(s, "://")
	if i < 0 {
		return s, false
	}
	auth := i + 3
	end := strings.IndexAny(s[auth:], "/?#")
	if end < 0 {
		return s, false
	}
	at := strings.LastIndexByte(s, '@')
	if at < auth+end {
		return s, false
	}
	return s[:auth] + Redacted + s[at:], true
}
