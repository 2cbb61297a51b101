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
