package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// Errors are classified once, here, for every path (bind, send, read, ack,
// dead letter); see the package doc, "Errors".

// redisError returns the Redis error reply in err's chain, or nil.
func redisError(err error) goredis.Error {
	var re goredis.Error
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// hasPrefix reports whether err is a Redis error reply starting with
// prefix (an error code such as "NOGROUP").
func hasPrefix(err error, prefix string) bool {
	re := redisError(err)
	return re != nil && strings.HasPrefix(re.Error(), prefix)
}

// transientCodes are the Redis error replies that a retry may get past:
// the server loading its data set, busy with a script, failing over, out
// of memory for now, refusing writes after a failed save, or out of
// client slots.
var transientCodes = []string{"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "MISCONF", "OOM", "NOREPLICAS", "ERR max number of clients reached"}

// isAuthError reports a refused login: wrong password, no password given
// where one is needed, or a user that does not exist or is disabled.
func isAuthError(err error) bool {
	return goredis.IsAuthError(err) || hasPrefix(err, "WRONGPASS") || hasPrefix(err, "NOAUTH")
}

// isPermission reports an ACL refusal of a command or key.
func isPermission(err error) bool {
	return goredis.IsPermissionError(err) || hasPrefix(err, "NOPERM")
}

// isNoGroup reports a consumer group (or its stream) that does not exist,
// or (Redis 7) a blocking read ended because its stream was deleted.
func isNoGroup(err error) bool {
	return hasPrefix(err, "NOGROUP") || hasPrefix(err, "UNBLOCKED the stream key no longer exists")
}

// isTLSError reports a failed TLS handshake or certificate check.
func isTLSError(err error) bool {
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &rh) || errors.As(err, &ve) {
		return true
	}
	return redisError(err) == nil && strings.Contains(err.Error(), "tls:")
}

// isTransient reports errors that a retry may fix: lost or refused
// connections, timeouts, and the transient Redis replies above. Refused
// logins, ACL refusals, wrong types, unknown groups, syntax errors and a
// closed client are not.
func isTransient(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, goredis.ErrClosed):
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	if re := redisError(err); re != nil {
		msg := re.Error()
		if inner, ok := strings.CutPrefix(msg, "ERR Error running script"); ok {
			// Redis before 7 reports a command's error inside a script
			// (deadLetterScript) as ERR Error running script (...):
			// @user_script:1: <the command's error>, and a refusal it
			// checks before the command (OOM, NOREPLICAS) as the reply
			// it would send, '-' included: @user_script:1:
			// @user_script: 1: -OOM command not allowed ....
			if i := strings.LastIndex(inner, ": "); i >= 0 {
				msg = strings.TrimPrefix(inner[i+2:], "-")
			}
		}
		for _, c := range transientCodes {
			if strings.HasPrefix(msg, c) {
				return true
			}
		}
		return false
	}
	return !isTLSError(err)
}

// isUnreachable reports errors of a server that could not be reached (or
// is not ready to serve): what [stream.Unavailable] wraps at bind time.
func isUnreachable(err error) bool {
	if err == nil || isAuthError(err) || isPermission(err) || isTLSError(err) || errors.Is(err, goredis.ErrClosed) {
		return false
	}
	if redisError(err) != nil {
		return isTransient(err)
	}
	return true
}
