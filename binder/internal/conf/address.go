package conf

import (
	"errors"
	"net"
	"strconv"
	"strings"
)

// NotShown is what an error about a broker address (a URL, an entry of an
// address list) says in place of the address: its user info may hold a
// password, and so may its host or port when a reserved character of the
// password was not percent-encoded (amqp://u:12345/x@host reads as host u,
// port 12345).
const NotShown = "not shown: it may hold a password"

// ErrEmpty is the problem of a broker address setting (a URL, an address
// list) that is set but empty, as a deployment template renders a value
// it has none for: the binder would otherwise report the empty string as a
// malformed address.
var ErrEmpty = errors.New("is empty: set it, or remove it (a variable set to the empty string is set, not absent)")

// HostPort checks a host:port as a dial takes it (net.Dial): split at the
// last colon, the host in brackets when it has colons of its own; the
// host may hold a colon only as an IPv6 address (with or without a zone),
// and the port is a number from 1 to 65535. An address that fails it
// would only fail at the first connection, retried as an outage (a host
// that does not resolve, a refused connection, are outages, not its
// concern). Its errors never show the address (see [NotShown]).
func HostPort(hostPort string) error {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) && strings.Contains(ae.Err, "too many colons") {
			return errors.New("too many colons: a port given twice, or an IPv6 address not in brackets")
		}
		if errors.As(err, &ae) {
			return errors.New(ae.Err) // without the address
		}
		return errors.New("not a host:port")
	}
	if strings.Contains(host, ":") {
		ip, _, _ := strings.Cut(host, "%")
		if net.ParseIP(ip) == nil {
			return errors.New("the host holds a colon but is not an IPv6 address (a port given twice?)")
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return errors.New("the port is not a number from 1 to 65535")
	}
	return nil
}

// AtAfterHost refuses a URL (a string with "://") that has an '@' after
// its authority, in its path, query or fragment. A URL's authority ends at
// the first '/', '?' or '#', so a password holding one of them unencoded
// (amqp://u:12345/secret@host) is read as host "u" and port 12345, with
// the rest of the password in the path, where a dial, its error and a
// log line would show it. Its error never shows the URL (see [NotShown]).
func AtAfterHost(raw string) error {
	i := strings.Index(raw, "://")
	if i < 0 {
		return nil
	}
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 || !strings.Contains(rest[end:], "@") {
		return nil
	}
	return errors.New("an '@' after the host (the value is " + NotShown + "): a user or password before the host must have its '/', '?' and '#' percent-encoded (%2F, %3F, %23), and an '@' after the host is written %40")
}
